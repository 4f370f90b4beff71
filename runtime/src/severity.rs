//! How bad a misuse is, in the kernel's own terms.
//!
//! The kernel answers misuse of the block layer in three ways: it returns an
//! error the caller is expected to handle (a full bio, a NULL mapping, a DMA
//! mapping error), it WARNs and carries on, or it BUGs. The runtime never
//! panics; every error value instead carries the [`Severity`] the kernel
//! would have chosen, so a fixture can assert "this is a BUG in the kernel"
//! without crashing the harness.

/// What the kernel would do on this misuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// An ordinary failure reported by return value (`-ENOMEM`, `NULL`,
    /// `DMA_MAPPING_ERROR`, a bio that is full).
    Fail,
    /// The kernel would `WARN_ON` and recover.
    Warn,
    /// The kernel would `BUG_ON`, or oops on the bad pointer it was handed.
    Bug,
}

impl Severity {
    /// The value the C ABI reports for this severity (`BVMIG_ERR_FAIL`,
    /// `BVMIG_ERR_WARN`, `BVMIG_ERR_BUG`); 0 is reserved for "no error".
    pub fn as_c(self) -> i32 {
        match self {
            Severity::Fail => 1,
            Severity::Warn => 2,
            Severity::Bug => 3,
        }
    }
}

/// An error that knows how the kernel would have reacted to it.
///
/// Every module's error enum implements this, which lets the C ABI record
/// any of them as "last error" with one code path.
pub trait Misuse: std::error::Error {
    /// What the kernel would do.
    fn severity(&self) -> Severity;
}
