// A user's Rust program against the packaged ftapi crate (depended on by path after
// unpacking the .crate). Prints "<name>\t<SYSTEM|CUSTOM>" per group.
use opend::{GroupType, Options, Qot};

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .expect("usage: dist-check PORT")
        .parse()
        .expect("port");
    let qot = Qot::connect("127.0.0.1", port, Options::default()).expect("connect");
    for g in qot
        .get_user_security_group(GroupType::All)
        .expect("get_user_security_group")
    {
        println!("{}\t{}", g.name, g.type_name());
    }
}
