//! C without a build: source bytes and positions, tree-sitter parsing,
//! types, and the definitions of functions and macros.
//!
//! **Architecture invariant:** nothing here knows the rule language; the
//! rules (`smpl`) and the engine build on this layer, never the reverse.

pub mod conditional;
pub mod defcache;
pub mod definition;
pub mod gnu;
pub mod parsed;
pub mod source;
pub mod syntax;
pub mod types;
