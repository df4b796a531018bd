//! The project: cargo metadata, the optimized build, discovery of each executable's perf tests, selection by filters.

pub mod compile;
pub mod discover;
pub mod select;
pub mod suggest;
pub mod workspace;
