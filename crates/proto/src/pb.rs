//! Protobuf messages generated at build time from `proto/` (see build.rs).
//!
//! Module names follow the `.proto` packages, so `pb::qot_get_user_security_group::Response`
//! is the same message as the official SDKs' `Qot_GetUserSecurityGroup.Response`.

#![allow(missing_docs, clippy::all)]

pub mod common {
    include!(concat!(env!("OUT_DIR"), "/common.rs"));
}
pub mod init_connect {
    include!(concat!(env!("OUT_DIR"), "/init_connect.rs"));
}
pub mod init_web_socket {
    include!(concat!(env!("OUT_DIR"), "/init_web_socket.rs"));
}
pub mod keep_alive {
    include!(concat!(env!("OUT_DIR"), "/keep_alive.rs"));
}
pub mod notify {
    include!(concat!(env!("OUT_DIR"), "/notify.rs"));
}
pub mod qot_common {
    include!(concat!(env!("OUT_DIR"), "/qot_common.rs"));
}
pub mod qot_get_user_security_group {
    include!(concat!(env!("OUT_DIR"), "/qot_get_user_security_group.rs"));
}

/// Proto IDs of the messages above.
pub mod proto_id {
    pub const INIT_CONNECT: u32 = 1001;
    pub const GET_GLOBAL_STATE: u32 = 1002;
    pub const NOTIFY: u32 = 1003;
    pub const KEEP_ALIVE: u32 = 1004;
    pub const QOT_GET_USER_SECURITY_GROUP: u32 = 3222;

    /// Whether OpenD sends packets of this proto ID unasked. Pushes are told apart from
    /// replies by proto ID alone, never by serial number (docs/PROTOCOL.md §1).
    pub fn is_push(proto_id: u32) -> bool {
        matches!(
            proto_id,
            NOTIFY | 2208 | 2218 | 3005 | 3007 | 3009 | 3011 | 3013 | 3015 | 3019 | 3261 | 3310
        ) || (3450..=3459).contains(&proto_id)
    }
}
