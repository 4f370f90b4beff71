//! Progress on stderr for people at a terminal (indicatif): shown only when
//! stderr is a terminal, the run is not `--quiet`, and the work has lasted
//! half a second, so that quick runs and pipes never see it. It counts
//! what the work reports: files walked and sites found, against the number
//! of files when that is known (a bar), else with a spinner.
//!
//! On SIGINT or SIGTERM while it is drawn, the line is cleared before the
//! process ends as the signal asks, so that Ctrl-C leaves no half-drawn
//! bar; `--in-place`, which handles those signals itself once it writes,
//! is left to do so.

use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Mutex, Once};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::write;
use crate::progress::Progress;

/// Work shorter than this shows no progress.
const DELAY: Duration = Duration::from_millis(500);

/// Where progress is drawn, made anew for each phase.
type Target = Box<dyn Fn() -> ProgressDrawTarget + Send + Sync>;

/// Progress drawn on stderr: a spinner for a phase that cannot count its
/// steps, a bar for one that can; both count the steps (files) and the
/// sites found.
pub(super) struct Terminal {
    show: bool,
    target: Target,
    delay: Duration,
    phase: Mutex<Option<Phase>>,
}

struct Phase {
    pb: ProgressBar,
    sites: u64,
    /// The thread that draws it after the delay, and the channel whose
    /// closing tells it the work is over.
    waiter: (Sender<()>, JoinHandle<()>),
}

/// The bar on the terminal now, for the signal handler to clear.
static DRAWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

impl Terminal {
    /// Progress for a run with `--quiet` as given: drawn only when stderr
    /// is a terminal and the run is not quiet.
    pub(super) fn new(quiet: bool) -> Terminal {
        Terminal {
            show: !quiet && std::io::stderr().is_terminal(),
            target: Box::new(ProgressDrawTarget::stderr),
            delay: DELAY,
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
            .with_message(what.to_string())
            .with_prefix("0");
        let template = match len {
            Some(_) => "{msg} [{bar:30}] {pos}/{len} files, {prefix} sites ({elapsed})",
            None => "{spinner} {msg}: {pos} files, {prefix} sites ({elapsed})",
        };
        pb.set_style(
            ProgressStyle::with_template(template)
                .expect("a valid template")
                .progress_chars("=> "),
        );
        let (done, wait) = mpsc::channel::<()>();
        let shown = pb.clone();
        let target = (self.target)();
        let delay = self.delay;
        let handle = thread::spawn(move || {
            if wait.recv_timeout(delay) == Err(RecvTimeoutError::Timeout) {
                clear_on_signals();
                shown.set_draw_target(target);
                shown.enable_steady_tick(Duration::from_millis(100));
                *DRAWN.lock().expect("no panics while locked") = Some(shown);
            }
        });
        *self.phase.lock().expect("no panics while locked") = Some(Phase {
            pb,
            sites: 0,
            waiter: (done, handle),
        });
    }

    fn step(&self) {
        if let Some(p) = self.phase.lock().expect("no panics while locked").as_ref() {
            p.pb.inc(1);
        }
    }

    fn found(&self, n: usize) {
        if n == 0 {
            return;
        }
        if let Some(p) = self.phase.lock().expect("no panics while locked").as_mut() {
            p.sites += n as u64;
            p.pb.set_prefix(p.sites.to_string());
        }
    }

    fn end(&self) {
        let Some(p) = self.phase.lock().expect("no panics while locked").take() else {
            return;
        };
        let (done, handle) = p.waiter;
        drop(done);
        let _ = handle.join();
        DRAWN.lock().expect("no panics while locked").take();
        p.pb.finish_and_clear();
    }
}

/// From the first bar drawn on: SIGINT and SIGTERM clear it, then end the
/// process as they would have (unless `--in-place` has taken them over).
fn clear_on_signals() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        thread::spawn(move || {
            for sig in signals.forever() {
                if let Some(pb) = DRAWN.lock().expect("no panics while locked").take() {
                    pb.finish_and_clear();
                }
                // `--in-place` records the signal and finishes or undoes
                // its writes; otherwise the signal does what it always did.
                if write::signal_received().is_none() {
                    let _ = signal_hook::low_level::emulate_default_handler(sig);
                }
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::InMemoryTerm;

    fn drawing_to(term: &InMemoryTerm, delay: Duration) -> Terminal {
        let term = term.clone();
        Terminal {
            show: true,
            target: Box::new(move || ProgressDrawTarget::term_like(Box::new(term.clone()))),
            delay,
            phase: Mutex::new(None),
        }
    }

    /// Waits until `term` shows `what`, the draws coming from indicatif's
    /// own thread; what it shows last when that never comes.
    fn shows(term: &InMemoryTerm, what: &str) -> Result<(), String> {
        for _ in 0..2000 {
            if term.contents().contains(what) {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(5));
        }
        Err(term.contents())
    }

    #[test]
    fn counts_files_and_sites_and_leaves_nothing_behind() {
        for (len, line) in [
            (None, "walking the tree: 4 files, 7 sites"),
            (Some(10), "4/10 files, 7 sites"),
        ] {
            let term = InMemoryTerm::new(4, 100);
            let t = drawing_to(&term, Duration::ZERO);
            t.begin("walking the tree", len);
            for n in [0, 2, 0, 5] {
                t.step();
                t.found(n);
            }
            shows(&term, line).unwrap();
            t.end();
            assert_eq!(term.contents().trim(), "", "{len:?}: cleared at the end");
        }
    }

    #[test]
    fn nothing_is_drawn_for_quiet_runs_short_work_or_a_pipe() {
        let term = InMemoryTerm::new(4, 100);
        // Work that ends before the delay.
        let t = drawing_to(&term, Duration::from_secs(3600));
        t.begin("walking the tree", None);
        t.step();
        t.found(3);
        t.end();
        assert_eq!(term.contents(), "");
        // A quiet run, or stderr that is not a terminal (as under cargo
        // test, where it is captured): no phase at all.
        let quiet = Terminal::new(true);
        quiet.begin("walking the tree", None);
        assert!(quiet.phase.lock().unwrap().is_none());
        if !std::io::stderr().is_terminal() {
            let piped = Terminal::new(false);
            piped.begin("walking the tree", Some(3));
            assert!(piped.phase.lock().unwrap().is_none());
        }
    }
}
