//! Progress on stderr for people at a terminal (indicatif): shown only when
//! stderr is a terminal, the run is not `--quiet`, and the work has lasted
//! half a second, so that quick runs and pipes never see it.

use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::Progress;

/// Work shorter than this shows no progress.
const DELAY: Duration = Duration::from_millis(500);

/// Progress drawn on stderr: a spinner for a phase that cannot count its
/// steps, a bar for one that can.
pub(super) struct Terminal {
    show: bool,
    phase: Mutex<Option<Phase>>,
}

struct Phase {
    pb: ProgressBar,
    start: Instant,
    drawn: bool,
    /// For a spinner: the thread that draws it after [`DELAY`], and the
    /// channel whose closing tells it the work is over.
    waiter: Option<(Sender<()>, JoinHandle<()>)>,
}

impl Terminal {
    /// Progress for a run with `--quiet` as given: drawn only when stderr
    /// is a terminal and the run is not quiet.
    pub(super) fn new(quiet: bool) -> Terminal {
        Terminal {
            show: !quiet && std::io::stderr().is_terminal(),
            phase: Mutex::new(None),
        }
    }
}

impl Progress for Terminal {
    fn begin(&self, what: &str, len: Option<usize>) {
        if !self.show {
            return;
        }
        self.end();
        let pb = ProgressBar::with_draw_target(len.map(|n| n as u64), ProgressDrawTarget::hidden())
            .with_message(what.to_string());
        let waiter = match len {
            Some(_) => {
                pb.set_style(
                    ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
                        .expect("a valid template")
                        .progress_chars("=> "),
                );
                None
            }
            None => {
                pb.set_style(
                    ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                        .expect("a valid template"),
                );
                let (done, wait) = mpsc::channel::<()>();
                let shown = pb.clone();
                let handle = thread::spawn(move || {
                    if wait.recv_timeout(DELAY) == Err(RecvTimeoutError::Timeout) {
                        shown.set_draw_target(ProgressDrawTarget::stderr());
                        shown.enable_steady_tick(Duration::from_millis(100));
                    }
                });
                Some((done, handle))
            }
        };
        *self.phase.lock().expect("no panics while locked") = Some(Phase {
            pb,
            start: Instant::now(),
            drawn: false,
            waiter,
        });
    }

    fn step(&self) {
        let mut phase = self.phase.lock().expect("no panics while locked");
        let Some(p) = phase.as_mut() else { return };
        if p.waiter.is_none() {
            if !p.drawn && p.start.elapsed() >= DELAY {
                p.pb.set_draw_target(ProgressDrawTarget::stderr());
                p.drawn = true;
            }
            p.pb.inc(1);
        }
    }

    fn end(&self) {
        let Some(p) = self.phase.lock().expect("no panics while locked").take() else {
            return;
        };
        if let Some((done, handle)) = p.waiter {
            drop(done);
            let _ = handle.join();
        }
        p.pb.finish_and_clear();
    }
}
