//! Compiles our own `.proto` files (proto/) with protox, so building needs no system
//! `protoc`.

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
    println!("cargo:rerun-if-changed=build.rs");
    Ok(())
}
