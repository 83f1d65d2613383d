//! The checkout guard: an object on loan, returned when dropped.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::Shared;

/// An object checked out of a [`Pool`](super::Pool).
///
/// Use it as a `T` (it derefs to one). Dropping it returns the object: to
/// the first waiting checkout if there is one, else it is dismissed if it is
/// surplus overflow, else it becomes idle. If it is dropped while its thread
/// panics, or after [`Pooled::mark_broken`], the object is dropped instead
/// and the pool creates a replacement, so it keeps its size.
#[must_use = "dropping a Pooled returns the object to the pool at once"]
pub struct Pooled<T> {
    pub(super) object: Option<T>,
    broken: bool,
    pool: Arc<Shared<T>>,
}

impl<T> Pooled<T> {
    pub(super) fn new(object: T, pool: Arc<Shared<T>>) -> Self {
        Self {
            object: Some(object),
            broken: false,
            pool,
        }
    }

    /// Marks the object as unfit for reuse: when `this` is dropped, the
    /// object is dropped and replaced by a fresh one from the factory.
    ///
    /// An associated function, so it cannot shadow a method of `T`.
    pub fn mark_broken(this: &mut Self) {
        this.broken = true;
    }

    /// Whether [`Pooled::mark_broken`] was called.
    #[must_use]
    pub fn is_broken(this: &Self) -> bool {
        this.broken
    }
}

impl<T> Drop for Pooled<T> {
    fn drop(&mut self) {
        let Some(object) = self.object.take() else {
            return;
        };
        if self.broken || std::thread::panicking() {
            drop(object);
            self.pool.replace_lost();
        } else {
            self.pool.put(object);
        }
    }
}

impl<T> Deref for Pooled<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.object
            .as_ref()
            .expect("a live Pooled holds its object")
    }
}

impl<T> DerefMut for Pooled<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.object
            .as_mut()
            .expect("a live Pooled holds its object")
    }
}

impl<T> AsRef<T> for Pooled<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T> AsMut<T> for Pooled<T> {
    fn as_mut(&mut self) -> &mut T {
        self
    }
}

impl<T: fmt::Debug> fmt::Debug for Pooled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pooled")
            .field("object", &self.object)
            .field("broken", &self.broken)
            .finish()
    }
}
