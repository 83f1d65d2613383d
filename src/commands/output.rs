//! Standard output and error as the commands write them, when the reader
//! may go away (`ggen … | head -1`). Rust ignores SIGPIPE, so a write to a
//! pipe nobody reads fails with `BrokenPipe` instead of killing ggen; the
//! crate forbids the `unsafe` it would take to restore the signal. This
//! writer remembers that failure, fails every later write at once, and
//! lets `main` exit quietly with the status a shell shows for a tool killed
//! by SIGPIPE.

use std::io::{self, Write};

/// The exit status after a reader went away: 128 + SIGPIPE (13), what a
/// shell reports for a tool SIGPIPE killed.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// A writer that remembers a broken pipe.
pub struct Output<W> {
    inner: W,
    broken: bool,
}

impl<W: Write> Output<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Output {
            inner,
            broken: false,
        }
    }

    /// Whether a write found the reader gone.
    pub fn broken(&self) -> bool {
        self.broken
    }

    fn note<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            self.broken = true;
        }
        result
    }
}

impl<W: Write> Write for Output<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.broken {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.broken {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let result = self.inner.flush();
        self.note(result)
    }
}

/// Whether `result` failed because the reader went away.
pub fn is_broken_pipe(result: &io::Result<()>) -> bool {
    result
        .as_ref()
        .is_err_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone after `room` bytes.
    struct Pipe {
        room: usize,
        calls: usize,
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.room == 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_broken_pipe_is_remembered_and_not_written_to_again() {
        let mut out = Output::new(Pipe { room: 4, calls: 0 });
        assert!(out.write_all(b"abcd").is_ok());
        assert!(!out.broken());
        assert!(is_broken_pipe(&out.write_all(b"ef")));
        assert!(out.broken());
        let calls = out.inner.calls;
        assert!(is_broken_pipe(&out.write_all(b"gh")));
        assert!(is_broken_pipe(&out.flush()));
        assert_eq!(out.inner.calls, calls);
    }

    #[test]
    fn other_errors_are_not_a_broken_pipe() {
        let r: io::Result<()> = Err(io::ErrorKind::PermissionDenied.into());
        assert!(!is_broken_pipe(&r));
    }
}
