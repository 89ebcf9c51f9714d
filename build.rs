//! Compiles our own `.proto` files (proto/) with protox, so building needs no
//! system `protoc`, and gives the shared library a SONAME.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/Common.proto",
        "proto/InitConnect.proto",
        "proto/InitWebSocket.proto",
        "proto/KeepAlive.proto",
        "proto/Notify.proto",
        "proto/Qot_Common.proto",
        "proto/Qot_GetUserSecurityGroup.proto",
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    prost_build::Config::new().out_dir(&out).compile_fds(fds)?;

    // Programs linked against libftapi.so record this name, so an ABI-breaking
    // release can ship beside an older one. An ELF (GNU ld) option: Linux only.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libftapi.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
    Ok(())
}
