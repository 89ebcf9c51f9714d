//! Gives the shared library a SONAME.

fn main() {
    // Programs linked against libftapi.so record this name, so an ABI-breaking
    // release can ship beside an older one. An ELF (GNU ld) option: Linux only.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libftapi.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
