//! What a watchlist reply should hold, for the suites that compare it with the simulator's.

use opend::GroupType;
use opend_sim::GroupEntry;

/// The groups as `(name, type)` pairs.
pub fn names(groups: &[opend::Group]) -> Vec<(String, i32)> {
    groups
        .iter()
        .map(|g| (g.name.clone(), g.group_type))
        .collect()
}

/// The simulator's groups that a request for `want` gets, as `(name, type)` pairs.
pub fn expected(groups: &[GroupEntry], want: GroupType) -> Vec<(String, i32)> {
    groups
        .iter()
        .filter(|g| want == GroupType::All || g.group_type == want as i32)
        .map(|g| (g.name.clone(), g.group_type))
        .collect()
}
