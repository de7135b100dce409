//! The simulated account's clock: a settable `now`, shared by every handle.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// A clock that only moves when told to. Create dates and access advisor job
/// completion times of the simulated account come from it.
#[derive(Debug, Clone)]
pub struct SimClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl SimClock {
    pub fn new(now: DateTime<Utc>) -> SimClock {
        SimClock {
            now: Arc::new(Mutex::new(now)),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}
