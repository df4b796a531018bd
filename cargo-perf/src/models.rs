//! Models of a concurrency sweep (the same load test run at several user counts): the
//! Universal Scalability Law fitted to its throughput, and Little's Law checked at each level.

pub mod little;
pub mod usl;
