//! Integration tests of the runtime, as one test binary: the pfn model
//! against the page-based reference model, the C ABI driven by a real C
//! program, and C run on a world set up from Rust.

mod c_abi;
mod equivalence;
mod host;
