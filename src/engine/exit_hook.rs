//! Joining, at the process's exit, the I/O threads of connections closed from their own
//! callbacks (`super::adopt_orphan`), which no one else waits for. The only
//! platform-specific piece of the engine, chosen here by `cfg`:
//! - Unix: the C library's `atexit`, which in a shared library runs at exit or when the
//!   library is unloaded, whichever comes first; it waits at most 2 s.
//! - elsewhere (Windows): nothing. The process's end takes the threads with it, and
//!   waiting for them from a DLL's unload would hold the loader lock.

#[cfg(unix)]
pub(super) fn install() {
    static AT_EXIT: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a plain extern "C" function that touches only statics.
    AT_EXIT.call_once(|| unsafe {
        libc::atexit(join_orphans_at_exit);
    });
}

#[cfg(unix)]
extern "C" fn join_orphans_at_exit() {
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        super::reap_orphans();
        if super::ORPHANS.lock().is_empty() || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(not(unix))]
pub(super) fn install() {}
