//! Simulated crashes, for tests of the journal, apply and reconcile.
//!
//! Code that must survive a crash calls [`hit`] at each point where the process could die.
//! With the cargo feature `failpoints`, a test `arm`s one point by name; the next `hit` of
//! that name returns [`Crash`] (once: the point disarms itself, as a process dies only once),
//! and the caller propagates it at once and touches nothing else, as a dead process would.
//! The test then drops everything, reopens the journal and runs reconcile, as a restart would.
//! Without the feature, `hit` is an inlined `Ok(())` and `arm`/`disarm` do not exist.
//!
//! The crash windows of an apply, in order:
//!
//! - `after_journal_intent`: the record is durable in state Intended, IAM is untouched.
//!   Reconcile finds an Intended change and a role still in its before-image.
//! - `after_mark_applying`: the record is Applying with `steps_done == 0`, IAM is untouched.
//! - `after_step_N` (N = 1, 2, ...; see [`hit_after_step`]): the N-th IAM write is done and
//!   `record_step(N)` is durable, the next write has not started. Reconcile finds an Applying
//!   change with `steps_done == N` and a role part-way between before and after.
//! - `before_mark_applied`: every IAM write is done and recorded, the record is still
//!   Applying. Reconcile finds `steps_done` equal to the diff's length.
//!
//! A crash between an IAM write and its `record_step` is not simulated here: reconcile must
//! assume the step after `steps_done` may have happened too, and re-read IAM to know.
//!
//! The armed point is process-wide, so the apply may run on another thread (for example in
//! `spawn_blocking`). Tests that arm points take `serial()` first so they do not trip each
//! other's; a test that runs an apply without arming anything can still trip a point armed by
//! a concurrent test, so failpoint tests belong in their own test binary or run one at a time.

/// A simulated crash at the named failpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("simulated crash at failpoint {point}")]
pub struct Crash {
    pub point: String,
}

#[cfg(feature = "failpoints")]
mod imp {
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use super::Crash;

    static ARMED: Mutex<Option<String>> = Mutex::new(None);
    static SERIAL: Mutex<()> = Mutex::new(());

    fn armed() -> MutexGuard<'static, Option<String>> {
        // A test that panicked while holding the lock leaves a usable value behind.
        ARMED.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn hit_named(name: &str) -> Result<(), Crash> {
        let mut armed = armed();
        if armed.as_deref() == Some(name) {
            *armed = None;
            tracing::warn!(failpoint = name, "simulated crash");
            return Err(Crash {
                point: name.to_string(),
            });
        }
        Ok(())
    }

    /// Arms the failpoint `name`: its next [`super::hit`] returns [`Crash`]. Replaces any
    /// point armed before.
    pub fn arm(name: &str) {
        *armed() = Some(name.to_string());
    }

    /// Disarms whatever point is armed.
    pub fn disarm() {
        *armed() = None;
    }

    /// The point that is armed and not yet hit.
    pub fn armed_point() -> Option<String> {
        armed().clone()
    }

    /// Serialises the tests that arm failpoints: hold the guard for the whole test.
    pub fn serial() -> MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(feature = "failpoints")]
pub use imp::{arm, armed_point, disarm, serial};

/// A point where the process may crash; see the module doc for the names.
#[inline]
pub fn hit(name: &'static str) -> Result<(), Crash> {
    #[cfg(feature = "failpoints")]
    return imp::hit_named(name);
    #[cfg(not(feature = "failpoints"))]
    {
        let _ = name;
        Ok(())
    }
}

/// The point `after_step_N`, after the `step`-th IAM write of an apply and its `record_step`.
#[inline]
pub fn hit_after_step(step: u32) -> Result<(), Crash> {
    #[cfg(feature = "failpoints")]
    return imp::hit_named(&format!("after_step_{step}"));
    #[cfg(not(feature = "failpoints"))]
    {
        let _ = step;
        Ok(())
    }
}
