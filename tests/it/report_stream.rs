//! Every reporter at a small scale of the 500k-findings bench
//! (`benches/pathological.py findings N`): the same SYNTHETIC trace shape
//! (2,000 double closes of fd 3, each of a file with its own name, so each is
//! its own finding, plus files left open at exit), through every format.
//! Checks the count of results, the structure of each format, the same bytes
//! for `--threads 1` and `2`, and that writing streams: the reporter's peak
//! allocation is a small fraction of what it writes.

use std::process::Command;

use handlecheck::analysis::{Analysis, Options, analyze};
use handlecheck::report::human::HumanOptions;
use handlecheck::report::{self, CiContext, OutputFormat};

use crate::common::alloc::peak_of;

const DOUBLE_CLOSES: usize = 2_000;
/// The double closes, plus one leak note (the leaks share one allocation site).
const FINDINGS: usize = DOUBLE_CLOSES + 1;

fn write_trace(dir: &std::path::Path) -> String {
    let path = dir.join("findings.log");
    std::fs::write(
        &path,
        crate::common::synthetic::double_closes(DOUBLE_CLOSES),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

fn analysis(path: &str, threads: usize) -> Analysis {
    let options = Options {
        threads: Some(threads),
        ..Options::default()
    };
    analyze(&[path.to_string()], &options).unwrap()
}

fn context(a: &Analysis) -> CiContext<'_> {
    let mut cx = CiContext::new(a, a.findings.iter().collect());
    cx.base_dir = None;
    cx
}

/// The report in `format`, and the peak bytes the reporter allocated while
/// writing it.
fn written(cx: &CiContext<'_>, format: OutputFormat) -> (Vec<u8>, usize) {
    let human = HumanOptions::default();
    let mut sink = std::io::sink();
    let peak = peak_of(|| report::write(format, cx, &human, &mut sink).unwrap());
    let mut out = Vec::new();
    report::write(format, cx, &human, &mut out).unwrap();
    (out, peak)
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn every_format_carries_every_finding_streamed_and_alike_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_trace(dir.path());
    let one = analysis(&path, 1);
    let two = analysis(&path, 2);
    assert_eq!(one.findings.len(), FINDINGS);
    let (cx1, cx2) = (context(&one), context(&two));
    for format in OutputFormat::ALL {
        let (bytes, peak) = written(&cx1, format);
        let (again, _) = written(&cx2, format);
        assert!(
            bytes == again,
            "{format:?}: --threads 1 and 2 wrote different bytes"
        );
        // Streaming: what is held at once is a small part of what is written
        // (a report built whole would hold all of it, several times). GitHub
        // annotations are capped: their few KB are not proportional to anything.
        assert!(
            format == OutputFormat::Github || bytes.len() > 1 << 19,
            "{format:?}: {} bytes",
            bytes.len()
        );
        assert!(
            format == OutputFormat::Github || peak < bytes.len() / 8,
            "{format:?}: peak allocation {peak} bytes while writing {} bytes",
            bytes.len()
        );
        // The string form is the streamed bytes.
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(report::render(format, &cx1, &HumanOptions::default()), text);
        check_structure(format, &text);
    }
}

fn check_structure(format: OutputFormat, text: &str) {
    match format {
        OutputFormat::Json => {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let findings = v["findings"].as_array().unwrap();
            assert_eq!(findings.len(), FINDINGS);
            assert_eq!(v["summary"]["errors"], DOUBLE_CLOSES);
            assert_eq!(v["summary"]["notes"], 1);
            // One finding per file: every double close is its own.
            let mut messages: Vec<&str> = findings
                .iter()
                .map(|f| f["message"].as_str().unwrap())
                .collect();
            messages.sort_unstable();
            messages.dedup();
            assert_eq!(messages.len(), FINDINGS);
        }
        OutputFormat::Sarif => {
            let doc: serde_json::Value = serde_json::from_str(text).unwrap();
            crate::ci_reports::assert_valid(&crate::ci_reports::sarif_validator(), &doc);
            let results = doc["runs"][0]["results"].as_array().unwrap();
            assert_eq!(results.len(), FINDINGS);
            assert!(doc["runs"][0].get("properties").is_none(), "not truncated");
            assert_eq!(results[0]["level"], "error");
            assert_eq!(results[FINDINGS - 1]["level"], "note");
        }
        OutputFormat::Gitlab => {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let issues = v.as_array().unwrap();
            assert_eq!(issues.len(), FINDINGS);
            let mut prints: Vec<&str> = issues
                .iter()
                .map(|i| i["fingerprint"].as_str().unwrap())
                .collect();
            prints.sort_unstable();
            prints.dedup();
            assert_eq!(
                prints.len(),
                FINDINGS,
                "GitLab keeps one issue per fingerprint"
            );
        }
        OutputFormat::Junit => {
            assert!(text.starts_with("<?xml"));
            assert!(text.ends_with("</testsuites>\n"));
            // One failing testcase (HC001) listing all its findings; the leak
            // note is in HC006's system-out.
            assert_eq!(count(text, "<failure "), 1);
            assert!(text.contains(&format!(
                "<failure message=\"{DOUBLE_CLOSES} findings; first: "
            )));
            assert_eq!(count(text, "<system-out>"), 1);
            assert_eq!(count(text, "  fingerprint: "), FINDINGS);
            assert_eq!(count(text, "<testsuite "), 1);
            assert_eq!(count(text, "</testsuite>"), 1);
            assert!(text.contains(" failures=\"1\" errors=\"0\">"));
        }
        OutputFormat::Github => {
            let max = handlecheck::report::github::MAX_PER_KIND;
            let starting = |p: &str| text.lines().filter(|l| l.starts_with(p)).count();
            assert_eq!(starting("::error "), max);
            assert_eq!(starting("::notice "), 1);
            // The cap says what it dropped.
            assert!(
                text.contains(&format!(
                    "handlecheck: {} more findings not annotated",
                    DOUBLE_CLOSES - max
                )),
                "{}",
                &text[text.len().saturating_sub(400)..]
            );
        }
        OutputFormat::Human => {
            assert_eq!(count(text, "error[HC001]:"), DOUBLE_CLOSES);
            // The leak note is folded, and the report says so.
            assert_eq!(count(text, "[HC006]:"), 0);
            assert!(text.contains("1 note folded"));
            assert!(text.contains(&format!("{DOUBLE_CLOSES} errors, 0 warnings, 1 note")));
        }
        OutputFormat::Html => {
            assert!(text.starts_with("<!DOCTYPE html>"));
            assert!(text.ends_with("</body></html>\n"));
            assert_eq!(count(text, "<article class=\"finding "), FINDINGS);
            assert_eq!(count(text, "</article>"), FINDINGS);
        }
    }
}

#[test]
fn a_capped_sarif_log_says_what_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_trace(dir.path());
    let a = analysis(&path, 2);
    let mut cx = context(&a);
    cx.max_results = Some(500);
    let doc: serde_json::Value = serde_json::from_str(&report::render(
        OutputFormat::Sarif,
        &cx,
        &HumanOptions::default(),
    ))
    .unwrap();
    crate::ci_reports::assert_valid(&crate::ci_reports::sarif_validator(), &doc);
    let run = &doc["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), 500);
    assert_eq!(run["properties"]["truncated"], true);
    assert_eq!(run["properties"]["totalResults"], FINDINGS);
    assert_eq!(run["properties"]["shownResults"], 500);
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    let said = format!("{} of {FINDINGS} results not shown", FINDINGS - 500);
    assert!(
        notes
            .iter()
            .any(|n| n["message"]["text"].as_str().unwrap().starts_with(&said)),
        "{notes:?}"
    );
}

/// The binary: `-o` files are the same bytes for both thread counts, stdout
/// is the same bytes as `-o`, and a reader that stops early ends the run
/// quietly with 0.
#[test]
fn the_binary_streams_to_files_and_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_trace(dir.path());
    let bin = assert_cmd::cargo::cargo_bin("handlecheck");
    for format in ["sarif", "json", "junit", "gitlab", "github", "human"] {
        let mut outputs = Vec::new();
        for threads in ["1", "2"] {
            let out = dir.path().join(format!("out-{threads}.{format}"));
            let status = Command::new(&bin)
                .args([
                    "analyze",
                    "--no-config",
                    "--format",
                    format,
                    "--threads",
                    threads,
                ])
                .args(["--max-results", "0", "-o"])
                .arg(&out)
                .arg(&path)
                .status()
                .unwrap();
            assert_eq!(status.code(), Some(1), "{format}: errors were found");
            outputs.push(std::fs::read(&out).unwrap());
        }
        assert!(
            outputs[0] == outputs[1],
            "{format}: threads changed the bytes"
        );
        let stdout = Command::new(&bin)
            .args([
                "analyze",
                "--no-config",
                "--format",
                format,
                "--max-results",
                "0",
            ])
            .arg(&path)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert_eq!(stdout.status.code(), Some(1));
        if format != "human" {
            // Human text fits the terminal; the others are the same bytes.
            assert!(
                stdout.stdout == outputs[0],
                "{format}: stdout differs from -o"
            );
        }
        if format == "github" {
            // Capped at a few KB: the pipe takes it all, nothing to break.
            continue;
        }
        assert!(stdout.stdout.len() > 256 * 1024, "more than the pipe holds");
        // A reader that takes 100 bytes and closes the pipe.
        let mut child = Command::new(&bin)
            .args([
                "analyze",
                "--no-config",
                "--format",
                format,
                "--max-results",
                "0",
            ])
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdout.take().unwrap();
        let mut head = [0u8; 100];
        std::io::Read::read_exact(&mut pipe, &mut head).unwrap();
        drop(pipe);
        let done = child.wait_with_output().unwrap();
        assert_eq!(
            done.status.code(),
            Some(0),
            "{format}: broken pipe is quiet"
        );
        assert!(
            done.stderr.is_empty(),
            "{format}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
}
