//! TLS for `wss://`, with rustls: the system's root certificates plus any CA file the
//! program names, hostname (or IP address) verification always on. There is no switch
//! that accepts any certificate.

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use rustls::{ClientConfig, RootCertStore};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Extra trusted CA certificates (e.g. the one that signed OpenD's certificate), from a
/// PEM file. Cheap to clone.
#[derive(Clone)]
pub struct TlsRoots {
    certs: Arc<Vec<CertificateDer<'static>>>,
    /// Where they came from, for messages.
    source: Arc<str>,
}

impl fmt::Debug for TlsRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TlsRoots({} certificates from {})",
            self.certs.len(),
            self.source
        )
    }
}

/// Why a CA file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsError {
    /// The file cannot be read or holds no PEM certificate.
    BadCaFile(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::BadCaFile(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for TlsError {}

impl TlsRoots {
    /// Reads every certificate of a PEM file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<TlsRoots, TlsError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let iter = CertificateDer::pem_file_iter(path)
            .map_err(|e| TlsError::BadCaFile(format!("cannot read CA file {shown}: {e}")))?;
        let certs: Vec<CertificateDer<'static>> = iter
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::BadCaFile(format!("CA file {shown}: {e}")))?;
        if certs.is_empty() {
            return Err(TlsError::BadCaFile(format!(
                "CA file {shown} holds no PEM certificate"
            )));
        }
        Ok(TlsRoots {
            certs: Arc::new(certs),
            source: shown.into(),
        })
    }

    /// How many certificates the file held.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

/// The system's roots, read once per process.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// A client configuration that trusts the system's roots and `extra`.
pub(crate) fn client_config(extra: Option<&TlsRoots>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(x) = extra {
        for c in x.certs.iter() {
            roots
                .add(c.clone())
                .map_err(|e| format!("a certificate of CA file {} is not usable: {e}", x.source))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The name the server's certificate must carry: a DNS name or an IP address.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned())
        .map_err(|_| format!("{host:?} is neither a host name nor an IP address TLS can verify"))
}
