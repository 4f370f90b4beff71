//! CLI behaviour: exit statuses, errors, in-place writes, determinism.
