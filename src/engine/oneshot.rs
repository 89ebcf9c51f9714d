//! A one-value handoff from an I/O thread to a caller blocked on it (the blocking calls).
//!
//! A parking_lot mutex and condvar rather than a channel: a channel's blocking receive
//! asks `std::thread::current()` for a handle, which allocates once per thread, and on a
//! C program's main thread that block is never freed, so valgrind's default leak check
//! reports it ("possibly lost") in every program that made a blocking call.

use parking_lot::{Condvar, Mutex};
use std::sync::Arc;

struct Slot<T> {
    value: Mutex<(Option<T>, bool)>,
    cv: Condvar,
}

/// The sending half; dropping it unsent wakes the receiver with `None`.
pub(crate) struct Sender<T>(Arc<Slot<T>>);

/// The receiving half.
pub(crate) struct Receiver<T>(Arc<Slot<T>>);

pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Slot {
        value: Mutex::new((None, false)),
        cv: Condvar::new(),
    });
    (Sender(slot.clone()), Receiver(slot))
}

impl<T> Sender<T> {
    pub(crate) fn send(self, v: T) {
        self.0.value.lock().0 = Some(v);
        // Drop marks the slot done and wakes the receiver.
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.0.value.lock().1 = true;
        self.0.cv.notify_all();
    }
}

impl<T> Receiver<T> {
    /// Waits for the value; `None` if the sender went away without sending.
    pub(crate) fn recv(self) -> Option<T> {
        let mut g = self.0.value.lock();
        while !g.1 {
            self.0.cv.wait(&mut g);
        }
        g.0.take()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_value_arrives_and_a_dropped_sender_wakes_the_receiver() {
        let (tx, rx) = super::channel();
        let t = std::thread::spawn(move || tx.send(7));
        assert_eq!(rx.recv(), Some(7));
        t.join().unwrap();
        let (tx, rx) = super::channel::<u8>();
        let t = std::thread::spawn(move || drop(tx));
        assert_eq!(rx.recv(), None);
        t.join().unwrap();
    }
}
