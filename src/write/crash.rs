//! Crash points for the tests that interrupt a sync: in debug builds only,
//! `GGEN_CRASH_AT=N` kills the process (SIGKILL, no destructor runs) at the
//! Nth point it passes, and `GGEN_FAIL_AT=N` turns the Nth point into an
//! I/O error. A point stands before every step that changes the disk while
//! a sync writes or a journal is recovered. Release builds have no points.

#[cfg(debug_assertions)]
mod points {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static PASSED: AtomicUsize = AtomicUsize::new(0);

    fn setting(name: &str) -> Option<usize> {
        std::env::var(name).ok()?.parse().ok()
    }

    /// Passes one point: dies, fails or goes on, as the environment says.
    pub fn point() -> std::io::Result<()> {
        static AT: OnceLock<(Option<usize>, Option<usize>)> = OnceLock::new();
        let (crash, fail) = *AT.get_or_init(|| (setting("GGEN_CRASH_AT"), setting("GGEN_FAIL_AT")));
        if crash.is_none() && fail.is_none() {
            return Ok(());
        }
        let n = PASSED.fetch_add(1, Ordering::SeqCst) + 1;
        if crash == Some(n) {
            die();
        }
        if fail == Some(n) {
            return Err(std::io::Error::other(format!(
                "injected failure at crash point {n} (GGEN_FAIL_AT)"
            )));
        }
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn die() -> ! {
        let me = rustix::process::getpid();
        let _ = rustix::process::kill_process(me, rustix::process::Signal::KILL);
        std::process::abort()
    }

    #[cfg(not(target_os = "linux"))]
    fn die() -> ! {
        std::process::abort()
    }
}

#[cfg(debug_assertions)]
pub use points::point;

/// Release builds: no crash points.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn point() -> std::io::Result<()> {
    Ok(())
}
