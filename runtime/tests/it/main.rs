//! Integration tests of the runtime, as one test binary: the pfn model
//! against the page-based reference model, and the C ABI driven by a real
//! C program.

mod c_abi;
mod equivalence;
