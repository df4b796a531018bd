//! GitHub Actions workflow commands: an `::error` annotation at the `#[perf_test]` line of every
//! failing test (the Markdown job summary is the same as `summary.md`).

use std::path::Path;

use perf_schema::record::Status;
use perf_schema::summary::{Summary, TestOutcome};

use super::junit::failure_lines;

/// Escapes a workflow command's message (`%`, CR, LF) or property (also `:` and `,`).
fn escape(text: &str, property: bool) -> String {
    let mut s = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        s = s.replace(':', "%3A").replace(',', "%2C");
    }
    s
}

/// One `::error file=…,line=…,title=…::message` line per failing test. Test files are relative
/// to the workspace `root`; GitHub wants them relative to the repository's top (`repo`).
pub fn annotations(summary: &Summary, root: &Path, repo: Option<&Path>) -> Vec<String> {
    summary
        .results
        .iter()
        .filter_map(|r| {
            let message = match &r.record.status {
                Status::Failed { message } => format!("could not be measured: {message}"),
                Status::Measured => {
                    let lines = failure_lines(r);
                    if lines.is_empty() && r.outcome != TestOutcome::Fail {
                        return None;
                    }
                    lines.join("\n")
                }
            };
            let t = &r.record.test;
            let absolute = root.join(&t.file);
            let file = repo
                .and_then(|top| absolute.strip_prefix(top).ok())
                .unwrap_or(Path::new(&t.file));
            Some(format!(
                "::error file={},line={},title={}::{}",
                escape(&file.display().to_string(), true),
                t.line,
                escape(&format!("perf test {}", t.name), true),
                escape(&message, false)
            ))
        })
        .collect()
}
