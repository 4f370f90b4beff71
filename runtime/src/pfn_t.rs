//! `pfn_t`: a page frame number with flags in its top bits (Linux 4.5).
//!
//! The 2015 series replaces `struct page *` in the block layer with a pfn so
//! that persistent memory without a memmap can be the target of I/O. The
//! flags say what the pfn may be used for: `PFN_DEV` marks memory outside the
//! system memmap, `PFN_MAP` says a device driver nevertheless established
//! `struct page` for it, and the `PFN_SG_*` bits let a scatterlist entry use
//! the same word for its chain and end marks. The bit positions are those of
//! `include/linux/pfn_t.h` in Linux 4.5: the top `PAGE_SHIFT` bits of a
//! 64-bit value, which can never be part of a pfn because a physical address
//! has at most 64 bits.

use thiserror::Error;

use crate::memory::Page;
use crate::severity::{Misuse, Severity};
use crate::PAGE_SHIFT;

/// Every bit that may carry a flag: the top `PAGE_SHIFT` bits.
pub const PFN_FLAGS_MASK: u64 = ((1u64 << PAGE_SHIFT) - 1) << (64 - PAGE_SHIFT);
/// The value is a pointer to the next scatterlist chunk, not a pfn.
pub const PFN_SG_CHAIN: u64 = 1 << 63;
/// The pfn is the last entry of a scatterlist.
pub const PFN_SG_LAST: u64 = 1 << 62;
/// The pfn is not covered by the system memmap by default.
pub const PFN_DEV: u64 = 1 << 61;
/// The pfn has a `struct page` that a device driver established.
pub const PFN_MAP: u64 = 1 << 60;

/// One past the largest pfn a `pfn_t` can hold.
pub const PFN_LIMIT: u64 = 1 << (64 - PAGE_SHIFT);

/// Errors of `pfn_t` construction.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PfnTError {
    /// The pfn would overlap the flag bits.
    #[error("pfn {pfn:#x} does not fit below the pfn_t flag bits (limit {PFN_LIMIT:#x})")]
    PfnTooLarge {
        /// The offending pfn.
        pfn: u64,
    },
}

impl Misuse for PfnTError {
    fn severity(&self) -> Severity {
        // The kernel ORs the pfn into the flags without looking, which
        // silently turns a huge pfn into a flagged one: a latent BUG.
        Severity::Bug
    }
}

/// A page frame number plus `PFN_*` flags, as `pfn_t` in Linux 4.5.
///
/// Any 64-bit value is a valid `pfn_t`; the invariants live in the
/// constructors, which never let a pfn spill into the flag bits.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct PfnT {
    val: u64,
}

impl PfnT {
    /// Wraps a raw value (as read from C) without interpretation.
    pub const fn from_raw(val: u64) -> PfnT {
        PfnT { val }
    }

    /// The raw value, flags included (the C `.val` member).
    pub const fn raw(self) -> u64 {
        self.val
    }

    /// The flag bits alone.
    pub const fn flags(self) -> u64 {
        self.val & PFN_FLAGS_MASK
    }

    /// The same flags on the frame `n` frames further on, or `None` if that
    /// frame would not fit below the flag bits.
    pub(crate) fn nth(self, n: u64) -> Option<PfnT> {
        let pfn = pfn_t_to_pfn(self).checked_add(n)?;
        (pfn < PFN_LIMIT).then_some(PfnT {
            val: pfn | self.flags(),
        })
    }
}

/// Builds a `pfn_t` from a pfn and flags; flag bits outside
/// [`PFN_FLAGS_MASK`] are dropped, as in the kernel.
#[allow(non_snake_case)]
pub fn __pfn_to_pfn_t(pfn: u64, flags: u64) -> Result<PfnT, PfnTError> {
    if pfn >= PFN_LIMIT {
        return Err(PfnTError::PfnTooLarge { pfn });
    }
    Ok(PfnT {
        val: pfn | (flags & PFN_FLAGS_MASK),
    })
}

/// The default conversion, which assumes the pfn is covered by the memmap
/// (no flags, so [`pfn_t_has_page`] is true).
pub fn pfn_to_pfn_t(pfn: u64) -> Result<PfnT, PfnTError> {
    __pfn_to_pfn_t(pfn, 0)
}

/// The `pfn_t` of a page. As in Linux 4.5 it carries no flags, even for a
/// page a device driver created.
pub fn page_to_pfn_t(page: Page) -> PfnT {
    // A Page only exists for a pfn inside the world's physical address
    // space, which is far below the flag bits.
    PfnT { val: page.pfn() }
}

/// The `pfn_t` of the frame holding physical address `phys`.
pub fn phys_to_pfn_t(phys: u64, flags: u64) -> PfnT {
    // A 64-bit address shifted right by PAGE_SHIFT always fits below the
    // flag bits, which is why the kernel's version cannot fail either.
    PfnT {
        val: (phys >> PAGE_SHIFT) | (flags & PFN_FLAGS_MASK),
    }
}

/// The pfn without its flags.
pub fn pfn_t_to_pfn(pfn: PfnT) -> u64 {
    pfn.val & !PFN_FLAGS_MASK
}

/// The physical address of the start of the frame.
pub fn pfn_t_to_phys(pfn: PfnT) -> u64 {
    pfn_t_to_pfn(pfn) << PAGE_SHIFT
}

/// Whether the pfn has a `struct page`: either a driver mapped one
/// (`PFN_MAP`) or it is ordinary memory (`PFN_DEV` clear).
pub fn pfn_t_has_page(pfn: PfnT) -> bool {
    pfn.val & PFN_MAP == PFN_MAP || pfn.val & PFN_DEV == 0
}

/// The page of a pfn, or `None` for a page-less one.
///
/// Like the kernel this trusts the flags; a [`crate::memory::World`] checks
/// that the page really exists when the page is used.
pub fn pfn_t_to_page(pfn: PfnT) -> Option<Page> {
    pfn_t_has_page(pfn).then(|| Page::from_pfn(pfn_t_to_pfn(pfn)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bits_match_linux_4_5() {
        assert_eq!(PFN_FLAGS_MASK, 0xfff0_0000_0000_0000);
        assert_eq!(PFN_SG_CHAIN, 0x8000_0000_0000_0000);
        assert_eq!(PFN_SG_LAST, 0x4000_0000_0000_0000);
        assert_eq!(PFN_DEV, 0x2000_0000_0000_0000);
        assert_eq!(PFN_MAP, 0x1000_0000_0000_0000);
    }

    #[test]
    fn round_trips_keep_pfn_and_flags() {
        for flags in [0, PFN_DEV, PFN_DEV | PFN_MAP, PFN_SG_LAST] {
            let p = __pfn_to_pfn_t(0x12345, flags).unwrap();
            assert_eq!(pfn_t_to_pfn(p), 0x12345);
            assert_eq!(p.flags(), flags);
            assert_eq!(pfn_t_to_phys(p), 0x12345 << 12);
            assert_eq!(phys_to_pfn_t(0x12345 << 12 | 0x123, flags), p);
        }
    }

    #[test]
    fn flags_outside_the_mask_are_dropped() {
        let p = __pfn_to_pfn_t(7, PFN_DEV | 0xff).unwrap();
        assert_eq!(p.raw(), 7 | PFN_DEV);
    }

    #[test]
    fn has_page_follows_dev_and_map() {
        assert!(pfn_t_has_page(pfn_to_pfn_t(1).unwrap()));
        assert!(!pfn_t_has_page(__pfn_to_pfn_t(1, PFN_DEV).unwrap()));
        assert!(pfn_t_has_page(
            __pfn_to_pfn_t(1, PFN_DEV | PFN_MAP).unwrap()
        ));
        assert_eq!(pfn_t_to_page(__pfn_to_pfn_t(1, PFN_DEV).unwrap()), None);
        let page = pfn_t_to_page(__pfn_to_pfn_t(9, PFN_DEV | PFN_MAP).unwrap()).unwrap();
        assert_eq!(page.pfn(), 9);
        assert_eq!(page_to_pfn_t(page), pfn_to_pfn_t(9).unwrap());
    }

    #[test]
    fn huge_pfn_is_rejected_not_flagged() {
        let err = pfn_to_pfn_t(PFN_LIMIT).unwrap_err();
        assert_eq!(err.severity(), Severity::Bug);
        assert!(pfn_to_pfn_t(PFN_LIMIT - 1).is_ok());
    }

    #[test]
    fn nth_keeps_flags_and_refuses_overflow() {
        let p = __pfn_to_pfn_t(10, PFN_DEV).unwrap();
        assert_eq!(p.nth(5), Some(__pfn_to_pfn_t(15, PFN_DEV).unwrap()));
        assert_eq!(__pfn_to_pfn_t(PFN_LIMIT - 1, 0).unwrap().nth(1), None);
    }
}
