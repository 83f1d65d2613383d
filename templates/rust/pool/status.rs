//! A snapshot of a pool's counters, shaped like poolboy's `status/1`.

/// What a checkout would meet right now; poolboy's `ready | overflow | full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolState {
    /// At least one object is idle: a checkout gets one at once.
    /// (Overflow is then always 0: overflow objects are dismissed before any
    /// object goes back to the idle list.)
    Ready,
    /// No object is idle, but fewer than `max_overflow` overflow objects
    /// exist: a checkout creates a new one. This includes the moment all
    /// `size` objects are out and no overflow object exists yet.
    Overflow,
    /// No object is idle and `overflow == max_overflow` (with
    /// `max_overflow == 0`, as soon as nothing is idle): a checkout waits,
    /// and `try_checkout` fails with `Full`.
    Full,
}

/// Counters of a pool at one moment, read under its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Ready, Overflow or Full; see [`PoolState`].
    pub state: PoolState,
    /// Idle objects (poolboy's idle worker count).
    pub available: usize,
    /// Overflow objects alive, between 0 and `max_overflow`.
    pub overflow: usize,
    /// Objects checked out, including one handed to a waiter that has not
    /// yet resumed (poolboy's checked-out count).
    pub in_use: usize,
    /// Checkouts queued for an object.
    pub waiting: usize,
}
