use perf_harness::perf_test;

struct Parser;

impl Parser {
    #[perf_test(median = "2us")]
    fn x(&self) {}
}

fn main() {}
