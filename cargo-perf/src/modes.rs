//! Comparison modes: baseline mode (the previous run or a named baseline, confirmation) and paired mode (`--against`: the reference build, its fingerprints, rounds), sharing the run's context.

pub mod builds;
pub mod capacity;
pub mod context;
pub mod paired;
pub mod regress;
