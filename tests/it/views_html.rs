//! `--format html`: one self-contained page, checked in real headless Chromium
//! (Debian's `chromium`): the chart and every finding are in the rendered DOM,
//! trace text is escaped, and it stays small at 1 and at 235,000 events.

use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;

use crate::common::views::*;

fn hc() -> Command {
    Command::cargo_bin("handlecheck").unwrap()
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|c| {
        StdCommand::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs headless Chromium on `page` with `extra` arguments; its stdout.
/// A guard (not an assertion) kills it if it hangs.
fn run_chromium(bin: &str, page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = StdCommand::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dump_dom(bin: &str, page: &Path) -> String {
    run_chromium(bin, page, &["--dump-dom".to_string()])
}

/// `analyze -f html -o` into `dir`; also the JSON findings of the same run.
fn report(dir: &Path, input: &str, name: &str) -> (PathBuf, Vec<serde_json::Value>) {
    let page = dir.join(name);
    hc().args(["analyze", "-q", "--fail-on", "never", "-f", "html", "-o"])
        .arg(&page)
        .arg(input)
        .assert()
        .success();
    let out = hc()
        .args(["analyze", "-q", "--fail-on", "never", "-f", "json", input])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (page, v["findings"].as_array().unwrap().clone())
}

/// The `points` of every series polyline in the page.
fn series_points(html: &str) -> Vec<usize> {
    html.split("<polyline class=\"series\"")
        .skip(1)
        .map(|p| {
            let pts = p.split("points=\"").nth(1).unwrap();
            pts[..pts.find('"').unwrap()].split(' ').count()
        })
        .collect()
}

#[test]
fn page_is_self_contained_and_lists_every_finding() {
    let dir = tempfile::tempdir().unwrap();
    for (i, input) in EVERY_FORMAT.iter().enumerate() {
        let (page, findings) = report(dir.path(), input, &format!("r{i}.html"));
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(
            html.contains("default-src 'none'"),
            "a CSP forbids every fetch"
        );
        assert!(!html.contains("<script"), "no script");
        for attr in ["src=", "href=", "url("] {
            assert!(!html.contains(attr), "{input}: {attr} in the page");
        }
        let urls = html.matches("http://").count() + html.matches("https://").count();
        assert_eq!(
            urls,
            html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
            "{input}"
        );
        assert!(html.contains("<svg id=\"live-chart\""), "{input}");
        assert!(!findings.is_empty(), "{input}");
        for f in &findings {
            let fp = f["fingerprint"].as_str().unwrap();
            assert!(
                html.contains(&format!("id=\"f-{fp}\"")),
                "{input}: finding {fp}"
            );
            assert!(
                html.contains(&format!("data-finding=\"{fp}\"")),
                "{input}: mark {fp}"
            );
        }
        assert!(html.contains("<section id=\"stats\">"));
    }
}

#[test]
fn renders_in_headless_chromium_with_chart_and_findings() {
    let Some(bin) = chromium() else {
        eprintln!("SKIP: chromium is not installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (i, input) in EVERY_FORMAT.iter().enumerate() {
        let (page, findings) = report(dir.path(), input, &format!("r{i}.html"));
        let dom = dump_dom(bin, &page);
        assert!(
            dom.contains("<svg id=\"live-chart\""),
            "{input}: chart not in the DOM"
        );
        if *input != APPVERIF {
            assert!(
                dom.contains("<polyline class=\"series\""),
                "{input}: no series drawn"
            );
        }
        for f in &findings {
            let fp = f["fingerprint"].as_str().unwrap();
            assert!(
                dom.contains(&format!("id=\"f-{fp}\"")),
                "{input}: {fp} not rendered"
            );
        }
        let articles = dom.matches("<article class=\"finding").count();
        assert_eq!(articles, findings.len(), "{input}");
    }
    // The screenshot: kept in target/ so a person can look at it.
    let (page, _) = report(dir.path(), STRACE_HC004, "hc004.html");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("views-html-hc004.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        bin,
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".to_string(),
        ],
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "a blank page is smaller than this");
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn trace_text_is_escaped() {
    let (_d, p) = temp_trace(
        "evil.jsonl",
        concat!(
            r#"{"v":1,"ts":1000,"pid":7,"tid":8,"op":"open","handle":"0x10","type":"File","name":"<script>alert(1)</script>&\"x\""}"#,
            "\n",
            r#"{"v":1,"ts":2000,"pid":7,"tid":8,"op":"close","handle":"0x10"}"#,
            "\n",
            r#"{"v":1,"ts":3000,"pid":7,"tid":8,"op":"close","handle":"0x10"}"#,
            "\n",
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let (page, findings) = report(dir.path(), &p, "evil.html");
    assert!(findings.iter().any(|f| f["code"] == "HC001"));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;"));
    if let Some(bin) = chromium() {
        let dom = dump_dom(bin, &page);
        assert!(
            !dom.contains("<script"),
            "markup from the trace became an element"
        );
        assert!(dom.contains("&lt;script&gt;alert(1)"));
    }
}

#[test]
fn one_event_and_a_real_235k_event_trace_stay_usable() {
    let dir = tempfile::tempdir().unwrap();
    let (_d, one) = temp_trace(
        "one.jsonl",
        "{\"v\":1,\"ts\":1000,\"pid\":7,\"tid\":8,\"op\":\"open\",\"handle\":\"0x10\",\"type\":\"Event\"}\n",
    );
    let page = dir.path().join("one.html");
    hc().args(["analyze", "-q", "--fail-on", "never", "-f", "html", "-o"])
        .arg(&page)
        .arg(&one)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(series_points(&html), [1], "one point, one series");
    assert!(html.contains("pid 7: Event (peak 1)"));

    let big = format!(
        "{}/../shared/samples/strace-big/trace-findcat-25k.log.gz",
        root()
    );
    if !Path::new(&big).exists() {
        eprintln!("SKIP: {big} is not here");
        return;
    }
    let page = dir.path().join("big.html");
    hc().args(["analyze", "-q", "--fail-on", "never", "-f", "html", "-o"])
        .arg(&page)
        .arg(&big)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains(">235750<"), "the events count of the input");
    let points = series_points(&html);
    assert!(points.len() <= 8 && !points.is_empty(), "{points:?}");
    // Step lines: at most two SVG points per kept point, 400 kept per series.
    assert!(points.iter().all(|n| *n <= 800), "{points:?}");
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    if let Some(bin) = chromium() {
        let dom = dump_dom(bin, &page);
        assert!(dom.contains("<polyline class=\"series\""));
    }
}

#[test]
fn report_html_beside_another_format_and_from_run() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("side.html");
    hc().args(["analyze", "-q", "--report"])
        .arg(format!("html={}", page.display()))
        .arg(JSONL_HC004)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[HC004]:"));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("data-code=\"HC004\""));
    assert!(
        html.contains("<polyline class=\"series\""),
        "graphs kept for --report html"
    );

    if StdCommand::new("strace").arg("-V").output().is_err() {
        eprintln!("SKIP: strace is not installed");
        return;
    }
    let page = dir.path().join("run.html");
    let script = "exec 3</etc/hostname; exec 3<&-; exec 3<&-; true";
    hc().args(["run", "-q", "--fail-on", "note", "--format", "html", "-o"])
        .arg(&page)
        .args(["--", "bash", "-c", script])
        .assert()
        .code(1)
        .stdout("");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("data-code=\"HC001\""), "the double close");
    assert!(html.contains("/etc/hostname"));
    assert!(html.contains("Timeline of fd 3"));
}

#[test]
fn same_page_whatever_the_thread_count() {
    let input = "fixtures/strace/samples/fd_reuse_stale_write/trace.log";
    let page = |threads: &str| {
        hc().args([
            "analyze",
            "-q",
            "--fail-on",
            "never",
            "-f",
            "html",
            "--threads",
            threads,
            input,
        ])
        .output()
        .unwrap()
        .stdout
    };
    let one = page("1");
    assert!(String::from_utf8_lossy(&one).contains("data-code=\"HC004\""));
    assert_eq!(one, page("4"));
    // The graph of the same trace, twice: same bytes.
    let graph = || {
        hc().args(["graph", "-f", "json", input])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(graph(), graph());
}
