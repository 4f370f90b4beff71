//! How long-running work says how far it has got, to whoever shows it: the
//! library reports phases and steps through [`Progress`]; the command line
//! draws them on a terminal, tests and other callers pass [`Silent`].

/// A receiver of progress reports. Shared by the walk's worker threads.
pub trait Progress: Sync {
    /// A phase of work begins: what it is, and its number of steps when
    /// known (a spinner without, a bar with).
    fn begin(&self, what: &str, len: Option<usize>) {
        let _ = (what, len);
    }
    /// One step of the current phase is done.
    fn step(&self) {}
    /// `n` sites were found in the current phase (by the walk: in a file).
    fn found(&self, n: usize) {
        let _ = n;
    }
    /// The current phase is over.
    fn end(&self) {}
}

/// Progress that nobody sees.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}
