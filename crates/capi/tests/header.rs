//! The committed C header (the repository's include/ftapi.h) must be what cbindgen makes of
//! this crate's src/ today. `FTAPI_UPDATE_HEADER=1 cargo test -p ftapi-c --test header` (or
//! `make header`) rewrites it.

use std::path::Path;

#[test]
fn committed_header_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_src(root.join("src/lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = root.join("../../include/ftapi.h");
    if std::env::var_os("FTAPI_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/ftapi.h is stale: run `make header` and commit the result"
    );
}
