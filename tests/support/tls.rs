//! Certificates made at test time with openssl (never a key from elsewhere): a CA, a
//! server certificate it signs for 127.0.0.1 and localhost, and a second, unrelated CA.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub struct TestPki {
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
    /// A CA that signed nothing the server has.
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Made once per test binary, in a directory of its own under target/.
pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, cn) in [("ca", "ftapi test CA"), ("other", "ftapi unrelated CA")] {
            openssl(
                &dir,
                &[
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", &format!("/CN={cn}"),
                    "-keyout", &format!("{name}.key"), "-out", &format!("{name}.pem"),
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ],
            );
        }
        openssl(
            &dir,
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                "-keyout", "server.key", "-out", "server.csr",
            ],
        );
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem",
            ],
        );
        TestPki {
            ca: dir.join("ca.pem"),
            other_ca: dir.join("other.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        }
    })
}
