//! Reference model of the Linux bio layer after `bv_page` became a pfn.
