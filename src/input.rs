//! The input each thread is working on, so that a panic (always a bug) is
//! reported in one line that names it instead of Rust's default message:
//! the walk and `review` say what they read ([`reading`]), the binary's
//! panic hook prints [`panic_line`], and a panic the caller catches and
//! reports itself ([`catch`]) prints nothing.
//!
//! Tests provoke a panic with the environment variable `BVMIG_TEST_PANIC`:
//! [`provoke`] panics while an input of that name is being read.

use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

thread_local! {
    /// What this thread reads, outermost first (`series.mbox`, `patch 2`,
    /// `block/x.c`).
    static CURRENT: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// How many [`catch`]es this thread is inside.
    static CATCHING: Cell<usize> = const { Cell::new(0) };
}

/// Names what this thread reads until it is dropped.
#[must_use = "the input is named only while the guard lives"]
pub struct Reading(());

impl Drop for Reading {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().pop());
    }
}

/// Names `name` as the input this thread reads, inside the one named
/// before, until the guard is dropped.
pub fn reading(name: impl Into<String>) -> Reading {
    CURRENT.with(|c| c.borrow_mut().push(name.into()));
    Reading(())
}

/// The input this thread reads (`series.mbox: patch 2: block/x.c`), if
/// any.
pub fn current() -> Option<String> {
    CURRENT.with(|c| {
        let c = c.borrow();
        (!c.is_empty()).then(|| c.join(": "))
    })
}

/// Runs `f`; a panic inside it comes back as its message, and the panic
/// hook leaves it to the caller to report.
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    CATCHING.with(|c| c.set(c.get() + 1));
    let res = std::panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(c.get() - 1));
    res.map_err(|p| message(&*p))
}

/// The text of a panic's payload.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with no message".to_string())
}

/// The one line a panic prints: the input being read, the message (its
/// lines joined) and where in bvmig's source it happened.
pub fn panic_line(input: Option<&str>, msg: &str, location: Option<&str>) -> String {
    let msg: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let msg = if msg.is_empty() {
        "panic with no message".to_string()
    } else {
        msg.join(" / ")
    };
    let at = location.map(|l| format!(" at {l}")).unwrap_or_default();
    match input {
        Some(input) => format!(
            "bvmig: internal error while reading {input}: {msg} (bvmig{at}; please report it)"
        ),
        None => format!("bvmig: internal error: {msg} (bvmig{at}; please report it)"),
    }
}

/// What the panic hook prints for `info`: `panic_line` with this
/// thread's input, or nothing inside a `catch`.
pub fn hook_line(info: &std::panic::PanicHookInfo) -> Option<String> {
    if CATCHING.with(Cell::get) > 0 {
        return None;
    }
    let location = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
    Some(panic_line(
        current().as_deref(),
        &message(info.payload()),
        location.as_deref(),
    ))
}

/// Panics when `BVMIG_TEST_PANIC` names the innermost input being read:
/// the tests' way to see how a bug is reported.
pub fn provoke() {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    let Some(wanted) = WANTED.get_or_init(|| std::env::var("BVMIG_TEST_PANIC").ok()) else {
        return;
    };
    let hit = CURRENT.with(|c| c.borrow().last() == Some(wanted));
    if hit {
        panic!("provoked by BVMIG_TEST_PANIC");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_one_line_that_names_the_input() {
        assert_eq!(
            panic_line(Some("x.mbox: patch 2: a.c"), "byte index 3 is not a char boundary", Some("src/f.rs:1:2")),
            "bvmig: internal error while reading x.mbox: patch 2: a.c: byte index 3 is not a char boundary (bvmig at src/f.rs:1:2; please report it)"
        );
        assert_eq!(
            panic_line(None, "assertion `left == right` failed\n  left: 1\n right: 2\n", None),
            "bvmig: internal error: assertion `left == right` failed / left: 1 / right: 2 (bvmig; please report it)"
        );
        assert_eq!(
            panic_line(None, "", None),
            "bvmig: internal error: panic with no message (bvmig; please report it)"
        );
    }

    #[test]
    fn inputs_nest_and_unwind_with_their_guards() {
        assert_eq!(current(), None);
        {
            let _a = reading("s.mbox");
            let _b = reading("patch 1");
            assert_eq!(current().as_deref(), Some("s.mbox: patch 1"));
        }
        assert_eq!(current(), None);
        let _a = reading("t.c");
        let caught = catch(|| {
            let _b = reading("inner");
            panic!("boom {}", 1);
        });
        assert_eq!(caught.unwrap_err(), "boom 1");
        // The guard inside the panic was dropped while unwinding.
        assert_eq!(current().as_deref(), Some("t.c"));
        assert_eq!(CATCHING.with(Cell::get), 0);
    }
}
