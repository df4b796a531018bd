use perf_harness::perf_test;

#[perf_test(max_queries = 2)]
fn counts_need_samples() {}

#[perf_test(samples = 10, n_plus_one = "deny")]
fn probe_needs_a_setup() {}

#[perf_test(samples = 10, n_plus_one = "allow", max_queries = 0)]
fn bad_values() {}

#[perf_test(samples = 10, teardown = close)]
fn teardown_needs_a_setup() {}

fn close(_: u32) {}

fn main() {}
