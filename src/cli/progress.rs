//! Progress on stderr for people at a terminal (indicatif): shown only when
//! stderr is a terminal, the run is not `--quiet`, and the work has lasted
//! half a second, so that quick runs and pipes never see it.

use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work shorter than this shows no progress.
const DELAY: Duration = Duration::from_millis(500);

/// True when progress may be shown at all.
pub(super) fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// Runs `work`, with a spinner and `msg` on stderr once it has lasted
/// [`DELAY`] (when `show`): for work that cannot count its steps.
pub(super) fn spin<T>(show: bool, msg: &str, work: impl FnOnce() -> T) -> T {
    if !show {
        return work();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
        .with_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
        )
        .with_message(msg.to_string());
    let (done, wait) = mpsc::channel::<()>();
    let shown = pb.clone();
    let waiter = thread::spawn(move || {
        if wait.recv_timeout(DELAY) == Err(RecvTimeoutError::Timeout) {
            shown.set_draw_target(ProgressDrawTarget::stderr());
            shown.enable_steady_tick(Duration::from_millis(100));
        }
    });
    let res = work();
    drop(done);
    let _ = waiter.join();
    pb.finish_and_clear();
    res
}

/// A bar over `len` steps, drawn once the work has lasted [`DELAY`].
pub(super) struct Steps {
    pb: ProgressBar,
    start: Instant,
    show: bool,
    drawn: bool,
}

impl Steps {
    pub(super) fn new(show: bool, len: usize, msg: &str) -> Steps {
        let pb = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::hidden())
            .with_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
                    .expect("a valid template")
                    .progress_chars("=> "),
            )
            .with_message(msg.to_string());
        Steps {
            pb,
            start: Instant::now(),
            show,
            drawn: false,
        }
    }

    /// One step done.
    pub(super) fn inc(&mut self) {
        if self.show && !self.drawn && self.start.elapsed() >= DELAY {
            self.pb.set_draw_target(ProgressDrawTarget::stderr());
            self.drawn = true;
        }
        self.pb.inc(1);
    }

    /// Removes the bar.
    pub(super) fn finish(self) {
        self.pb.finish_and_clear();
    }
}
