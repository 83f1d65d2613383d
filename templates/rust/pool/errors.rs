//! Why a checkout failed.

use std::fmt;

/// Why [`Pool::checkout`](super::Pool::checkout) or
/// [`Pool::try_checkout`](super::Pool::try_checkout) returned no object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// No object became available within the checkout timeout.
    Timeout,
    /// `try_checkout` only: no idle object and the overflow is exhausted.
    Full,
    /// The pool has been closed.
    Closed,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timeout => "timed out waiting for a pool object",
            Self::Full => "pool is full: no idle object and overflow exhausted",
            Self::Closed => "pool is closed",
        })
    }
}

impl std::error::Error for PoolError {}
