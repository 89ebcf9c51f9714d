//! The C ABI's one handle scheme, for `FtapiQot*` and `FTAPIChannelPtr` alike: a handle is a
//! key into a table of live objects, not an address. Every export looks its handle up, so
//! a freed, twice-freed or never-issued handle is refused (an error return, or nothing
//! done) instead of dereferenced, and keys are never reused, so a stale handle cannot reach
//! a newer object either.
//!
//! Keys are multiples of 16 counted from 16 (they look like aligned pointers to code that
//! stores them as such). The table is a B-tree behind a read-write lock: lookups, the hot
//! path, share it; only creating and freeing write. A B-tree, not a hash map: its blocks
//! are held by pointers to their starts, so valgrind calls them reachable (a hash table's
//! pointer into its block reads as "possibly lost").

use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) struct Handles<T> {
    live: RwLock<BTreeMap<usize, Arc<T>>>,
    next: AtomicUsize,
}

impl<T> Handles<T> {
    pub(crate) const fn new() -> Handles<T> {
        Handles {
            live: RwLock::new(BTreeMap::new()),
            next: AtomicUsize::new(1),
        }
    }

    /// Registers the object `make` builds for its new handle; returns both.
    pub(crate) fn insert(&self, make: impl FnOnce(usize) -> T) -> (usize, Arc<T>) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // 2^60 handles on 64-bit targets (2^28 on 32-bit) before one would come back.
        let handle = n.wrapping_mul(16);
        let obj = Arc::new(make(handle));
        self.live.write().insert(handle, obj.clone());
        (handle, obj)
    }

    /// The live object behind `handle`, if there is one.
    pub(crate) fn get(&self, handle: usize) -> Option<Arc<T>> {
        if handle == 0 {
            return None;
        }
        self.live.read().get(&handle).cloned()
    }

    /// Forgets `handle`; its object lives on while a callback or a call still holds it.
    pub(crate) fn remove(&self, handle: usize) -> Option<Arc<T>> {
        self.live.write().remove(&handle)
    }

    /// How many handles are live (the Java tests' leak check).
    #[cfg_attr(not(feature = "java"), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.live.read().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_unique_checked_and_never_reused() {
        let h: Handles<u32> = Handles::new();
        let (a, _) = h.insert(|k| k as u32);
        let (b, _) = h.insert(|_| 7);
        assert_ne!(a, b);
        assert_eq!(a % 16, 0);
        assert_eq!(h.get(a).as_deref(), Some(&(a as u32)));
        assert!(h.get(0).is_none());
        assert!(h.get(a + 1).is_none());
        assert!(h.remove(a).is_some());
        assert!(h.get(a).is_none(), "a freed handle is refused");
        assert!(h.remove(a).is_none(), "a second free finds nothing");
        let (c, _) = h.insert(|_| 9);
        assert!(c != a && c != b, "keys are not reused");
        assert!(h.get(b).is_some() && h.get(c).is_some());
    }
}
