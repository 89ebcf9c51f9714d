//! Gives the shared library its name for the loader: a SONAME on Linux, an install name on macOS.

fn main() {
    // Programs linked against libftapi.so record this name, so an ABI-breaking
    // release can ship beside an older one. An ELF (GNU ld) option: Linux only.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libftapi.so.0");
    }
    // On macOS a program finds the library through its rpath, wherever it is installed.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libftapi.dylib");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
