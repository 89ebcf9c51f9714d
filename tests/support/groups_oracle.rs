//! The hand-written 3222 decoder (`opend::qot::GroupsView`) checked against prost, the
//! reference: both accept or both refuse, and what they accept decodes to the same
//! values. Shared by tests/properties.rs (proptest) and fuzz/fuzz_targets/groups_reply.rs
//! (libFuzzer), which include this file by path.

use opend::pb::qot_get_user_security_group::Response;
use opend::qot::GroupsView;
use prost::Message;

/// Panics when `GroupsView::parse` and prost disagree on `body`.
pub fn agrees_with_prost(body: &[u8]) {
    let ours = GroupsView::parse(body);
    let theirs = Response::decode(body);
    match (&ours, &theirs) {
        (Ok(v), Ok(r)) => {
            assert_eq!(v.ret_type, r.ret_type, "retType of {body:02x?}");
            // Presence too: absent stays absent, as protobuf says.
            assert_eq!(v.ret_msg, r.ret_msg.as_deref(), "retMsg of {body:02x?}");
            assert_eq!(v.err_code, r.err_code, "errCode of {body:02x?}");
            assert_eq!(v.has_s2c, r.s2c.is_some(), "s2c of {body:02x?}");
            let empty = Vec::new();
            let list = r.s2c.as_ref().map_or(&empty, |s| &s.group_list);
            assert_eq!(v.groups.len(), list.len(), "groups of {body:02x?}");
            for (a, b) in v.groups.iter().zip(list) {
                assert_eq!(a.name, b.group_name);
                assert_eq!(a.group_type, b.group_type);
            }
        }
        (Err(_), Err(_)) => {}
        _ => panic!("decoders disagree on {body:02x?}: ours {ours:?}, prost {theirs:?}"),
    }
}
