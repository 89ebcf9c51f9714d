//! A sliding-window request limit: at most `max` requests in any `window`.
//!
//! The client's rate limiter keeps one per limited proto ID; the simulator uses the same
//! type for OpenD's own limit (per server or per connection), so both count alike.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The times of the requests admitted in the last window, oldest first.
#[derive(Clone, Debug, Default)]
pub struct SlidingWindow {
    times: VecDeque<Instant>,
}

impl SlidingWindow {
    pub fn new() -> SlidingWindow {
        SlidingWindow::default()
    }

    /// `Ok` if one more request may go at `now`, else the instant the next slot frees.
    /// Records nothing: call [`record`](Self::record) when the request goes.
    pub fn check(&mut self, now: Instant, max: u32, window: Duration) -> Result<(), Instant> {
        while self
            .times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            self.times.pop_front();
        }
        if (self.times.len() as u64) < u64::from(max) {
            Ok(())
        } else {
            // max 0 admits nothing; the window then never frees a slot.
            Err(self.times.front().map_or(now + window, |t| *t + window))
        }
    }

    /// Counts a request that went at `now`.
    pub fn record(&mut self, now: Instant) {
        self.times.push_back(now);
    }

    /// [`check`](Self::check), and [`record`](Self::record) when admitted.
    pub fn admit(&mut self, now: Instant, max: u32, window: Duration) -> Result<(), Instant> {
        self.check(now, max, window)?;
        self.record(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_max_per_window_and_says_when_the_next_slot_frees() {
        let mut w = SlidingWindow::new();
        let t0 = Instant::now();
        let win = Duration::from_secs(30);
        for i in 0..10 {
            assert!(w.admit(t0 + Duration::from_secs(i), 10, win).is_ok());
        }
        // The 11th, at t0+10 s: refused until the first one leaves the window.
        assert_eq!(
            w.admit(t0 + Duration::from_secs(10), 10, win),
            Err(t0 + win)
        );
        assert!(w.check(t0 + win, 10, win).is_ok());
        // check records nothing.
        assert!(w.check(t0 + win, 10, win).is_ok());
        assert!(w.admit(t0 + win, 10, win).is_ok());
        assert!(w.admit(t0 + win, 10, win).is_err());
    }
}
