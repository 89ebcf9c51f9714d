//! GroupsReply::from_reply with ReplyKind::Server and an arbitrary body: never panics,
//! and `pb` always parses as a Qot_GetUserSecurityGroup.Response (the C ABI's promise).
//! The hand-written decoder behind it must agree with prost (property shared with
//! tests/properties.rs).
#![no_main]
use libfuzzer_sys::fuzz_target;
use opend::pb::qot_get_user_security_group::Response;
use opend::{GroupsReply, Reply, ReplyKind};
use prost::Message;

#[path = "../../tests/support/groups_oracle.rs"]
mod groups_oracle;

fuzz_target!(|data: &[u8]| {
    groups_oracle::agrees_with_prost(data);
    let reply = Reply {
        proto_id: 3222,
        serial: 7,
        kind: ReplyKind::Server,
        body: data.to_vec(),
        reason: String::new(),
    };
    let g = GroupsReply::from_reply(reply);
    assert_eq!(g.serial, 7);
    let rsp = Response::decode(g.pb.as_slice()).expect("pb parses");
    assert_eq!(rsp.ret_type, g.ret_type);
    if g.ret_type == -500 {
        assert!(g.groups.is_empty());
    } else {
        assert_eq!(g.pb, data);
        assert_eq!(
            g.groups.len(),
            rsp.s2c.map(|s| s.group_list.len()).unwrap_or(0)
        );
    }
    let _ = g.into_result();
});
