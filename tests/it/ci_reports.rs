//! The CI reporters on one constructed analysis (two inputs: a text trace held
//! in memory and a binary one rendered; four findings of three levels):
//! snapshots of every format, the official SARIF 2.1.0 schema, our JSON schema,
//! well-formed JUnit, GitHub escaping, truncation and baselines.

use handlecheck::analysis::{Analysis, InputReport, fingerprint};
use handlecheck::baseline::Baseline;
use handlecheck::formats::{Format, ReadStats};
use handlecheck::model::{
    Confidence, Event, Finding, Interner, Label, Level, Op, Origin, ResourceKind, Role,
};
use handlecheck::report::evidence::EvidenceSource;
use handlecheck::report::{CiContext, OutputFormat, render_machine};

const TRACE: &str = "\
100 openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY) = 3</etc/hosts>
100 read(3</etc/hosts>, \"x\", 1) = 1
101 eventfd2(0, EFD_CLOEXEC) = 4<anon_inode:[eventfd]>
100 close(3</etc/hosts>) = 0
101 eventfd2(0, EFD_CLOEXEC) = 5<anon_inode:[eventfd]>
100 close(3) = -1 EBADF (Bad file descriptor)
100 close(-1) = -1 EBADF (Bad file descriptor)
";

fn render_record(e: &Event, i: &Interner) -> String {
    format!(
        "record: {} pid {} handle {:#x}",
        i.resolve(e.call),
        e.pid,
        e.handle
    )
}

fn line_origin(line: u32) -> Origin {
    let offset: usize = TRACE
        .lines()
        .take(line as usize - 1)
        .map(|l| l.len() + 1)
        .sum();
    Origin::line(0, line, offset as u64)
}

struct Fx {
    interner: Interner,
    seq: u64,
}

impl Fx {
    fn ev(
        &mut self,
        op: Op,
        call: &str,
        origin: Origin,
        handle: i64,
        resource: Option<&str>,
        kind: ResourceKind,
    ) -> Event {
        let c = self.interner.intern(call);
        let mut e = Event::new(op, c, origin);
        self.seq += 1;
        e.seq = self.seq;
        e.pid = 100;
        e.tid = 100;
        e.handle = handle;
        e.resource = resource.map(|r| self.interner.intern(r));
        e.kind = kind;
        e
    }
}

fn label(event: Event, role: Role, text: &str) -> Label {
    Label {
        event,
        role,
        text: text.to_string().into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    code: &'static str,
    name: &'static str,
    level: Level,
    confidence: Confidence,
    message: &str,
    labels: Vec<Label>,
    notes: &[&str],
    site: &str,
) -> Finding {
    Finding {
        code,
        name,
        level,
        confidence,
        message: message.to_string(),
        labels,
        notes: notes.iter().map(|s| s.to_string().into()).collect(),
        pid: 100,
        site: site.to_string(),
        fingerprint: fingerprint(code, site),
        count: 1,
        folded: false,
    }
}

/// The fixture analysis.
pub fn fixture() -> Analysis {
    let mut fx = Fx {
        interner: Interner::new(),
        seq: 0,
    };
    let open = fx.ev(
        Op::Open { cloexec: false },
        "openat",
        line_origin(1),
        3,
        Some("/etc/hosts"),
        ResourceKind::File,
    );
    let first = fx.ev(
        Op::Close,
        "close",
        line_origin(4),
        3,
        Some("/etc/hosts"),
        ResourceKind::File,
    );
    let again = fx.ev(
        Op::Close,
        "close",
        line_origin(6),
        3,
        None,
        ResourceKind::Unknown,
    );
    let ev1 = fx.ev(
        Op::Open { cloexec: true },
        "eventfd2",
        line_origin(3),
        4,
        Some("anon_inode:[eventfd]"),
        ResourceKind::EventFd,
    );
    let ev2 = fx.ev(
        Op::Open { cloexec: true },
        "eventfd2",
        line_origin(5),
        5,
        Some("anon_inode:[eventfd]"),
        ResourceKind::EventFd,
    );
    let bad = fx.ev(
        Op::Close,
        "close",
        line_origin(7),
        -1,
        None,
        ResourceKind::Unknown,
    );
    let r1 = fx.ev(
        Op::Close,
        "Object/CloseHandle",
        Origin {
            input: 1,
            line: 0,
            record: 17,
            offset: 4096,
        },
        0x1a4,
        None,
        ResourceKind::Event,
    );
    let r2 = fx.ev(
        Op::Close,
        "Object/CloseHandle",
        Origin {
            input: 1,
            line: 0,
            record: 42,
            offset: 9216,
        },
        0x1a4,
        None,
        ResourceKind::File,
    );
    let findings = vec![
        finding(
            "HC001",
            "double-release",
            Level::Error,
            Confidence::High,
            "fd 3 (/etc/hosts) released twice: the release at line 6 finds it already closed",
            vec![
                label(open, Role::Open, "fd 3 (/etc/hosts) opened here"),
                label(first, Role::FirstRelease, "first released here"),
                label(again, Role::BadRelease, "released again here"),
            ],
            &["another thread shared the table"],
            "prog|close|file:/etc/hosts",
        ),
        finding(
            "HC005",
            "worker-event-leak",
            Level::Warning,
            Confidence::Medium,
            "2 eventfds created per worker thread are never closed",
            vec![
                label(ev1, Role::Open, "eventfd 4 created"),
                label(ev2, Role::Open, "eventfd 5 created"),
            ],
            &[],
            "prog|eventfd2|eventfd",
        ),
        finding(
            "HC008",
            "invalid-handle",
            Level::Note,
            Confidence::Low,
            "close(-1): 100% harmless, but: a, b\nand <this> & that",
            vec![label(bad, Role::BadRelease, "closed -1 here")],
            &[],
            "prog|close|-1",
        ),
        finding(
            "HC004",
            "namespace-collision",
            Level::Error,
            Confidence::Medium,
            "handle 0x1a4 closed by a stale holder after it was recycled to a File",
            vec![
                label(r1, Role::FirstRelease, "Event 0x1a4 closed"),
                label(r2, Role::BadRelease, "stale close hits the File"),
            ],
            &[],
            "svc.exe|CloseHandle|Event",
        ),
    ];
    let stats = ReadStats {
        units: 7,
        events: 7,
        ..ReadStats::default()
    };
    let etl_stats = ReadStats {
        units: 50,
        events: 2,
        ..ReadStats::default()
    };
    Analysis {
        inputs: vec![
            InputReport {
                path: "traces/service.strace".into(),
                job: 0,
                format: Format::Strace,
                stats,
                evidence: EvidenceSource::Memory(TRACE.as_bytes().to_vec()),
            },
            InputReport {
                path: "traces/capture.etl".into(),
                job: 1,
                format: Format::Etl,
                stats: etl_stats,
                evidence: EvidenceSource::Rendered(render_record),
            },
        ],
        errors: Vec::new(),
        findings,
        interner: fx.interner,
        graphs: Vec::new(),
    }
}

fn context(a: &Analysis) -> CiContext<'_> {
    let mut cx = CiContext::new(a, a.findings.iter().collect());
    cx.base_dir = None;
    cx
}

fn render(cx: &CiContext<'_>, f: OutputFormat) -> String {
    render_machine(f, cx).expect("a machine format")
}

pub(crate) fn sarif_validator() -> jsonschema::Validator {
    // The official schema has a pattern (run.language, artifact.sourceLanguage) with a stray `]`, which
    // ECMAScript reads as a literal `]` but the validator's meta-check refuses as
    // a "regex": escape it in memory (same meaning); the file stays as published.
    let text = include_str!("../schemas/sarif-schema-2.1.0.json");
    let stray = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    assert_eq!(
        text.matches(stray).count(),
        2,
        "the vendored schema changed"
    );
    let text = text.replace(stray, r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#);
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

pub(crate) fn assert_valid(v: &jsonschema::Validator, doc: &serde_json::Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema errors:\n{}", errors.join("\n"));
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let a = fixture();
    let cx = context(&a);
    let doc: serde_json::Value = serde_json::from_str(&render(&cx, OutputFormat::Sarif)).unwrap();
    assert_valid(&sarif_validator(), &doc);
    // The schema really checks: a broken document is refused.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!sarif_validator().is_valid(&broken));
}

#[test]
fn sarif_has_what_github_code_scanning_uses() {
    let a = fixture();
    let cx = context(&a);
    let doc: serde_json::Value = serde_json::from_str(&render(&cx, OutputFormat::Sarif)).unwrap();
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), handlecheck::rules::registry().len());
    for r in rules {
        for field in ["shortDescription", "fullDescription"] {
            let t = r[field]["text"].as_str().unwrap();
            assert!(!t.is_empty() && t.len() <= 1024, "{field}: {t}");
        }
        assert!(
            r["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("## How to fix")
        );
        assert!(!r["help"]["text"].as_str().unwrap().contains("```"));
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    // Errors first.
    let levels: Vec<&str> = results
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["error", "error", "warning", "note"]);
    let hc001 = &results[0];
    assert_eq!(hc001["ruleId"], "HC001");
    assert_eq!(
        rules[hc001["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "HC001"
    );
    assert_eq!(
        hc001["partialFingerprints"]["primaryLocationLineHash"],
        fingerprint("HC001", "prog|close|file:/etc/hosts")
    );
    assert_eq!(hc001["properties"]["confidence"], "high");
    let loc = &hc001["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "traces/service.strace");
    assert_eq!(loc["region"]["startLine"], 6);
    assert_eq!(hc001["relatedLocations"].as_array().unwrap().len(), 2);
    let flow = hc001["codeFlows"][0]["threadFlows"][0]["locations"]
        .as_array()
        .unwrap();
    let texts: Vec<&str> = flow
        .iter()
        .map(|l| l["location"]["message"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "fd 3 (/etc/hosts) opened here",
            "first released here",
            "released again here"
        ]
    );
    // Binary input: byte offset and record, and the record number as the
    // line (GitHub needs a startLine on every result).
    let hc004 = &results[1];
    let region = &hc004["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["byteOffset"], 9216);
    assert_eq!(region["properties"]["record"], 42);
    assert_eq!(region["startLine"], 42);
    for r in results {
        assert!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() >= Some(1),
            "every result has a startLine: {r}"
        );
    }
}

#[test]
fn sarif_max_results_keeps_the_most_severe_and_says_so() {
    let a = fixture();
    let mut cx = context(&a);
    cx.max_results = Some(2);
    let doc: serde_json::Value = serde_json::from_str(&render(&cx, OutputFormat::Sarif)).unwrap();
    assert_valid(&sarif_validator(), &doc);
    let run = &doc["runs"][0];
    let ids: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["HC001", "HC004"]);
    assert_eq!(run["properties"]["truncated"], true);
    assert_eq!(run["properties"]["totalResults"], 4);
    let note = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(note.contains("2 of 4 results not shown"), "{note}");
}

#[test]
fn json_output_matches_its_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/json-schema.json")).unwrap();
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let mut a = fixture();
    let cx = context(&a);
    let doc: serde_json::Value = serde_json::from_str(&render(&cx, OutputFormat::Json)).unwrap();
    assert_valid(&v, &doc);
    // With a baseline block too.
    let b = Baseline::from_findings(a.findings.iter().take(1));
    let mut findings = std::mem::take(&mut a.findings);
    let report = b.apply(&mut findings, &["HC001"], "base.json");
    a.findings = findings;
    let mut cx = context(&a);
    cx.baseline = Some(report);
    let text = render(&cx, OutputFormat::Json);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_valid(&v, &doc);
    assert_eq!(doc["baseline"]["suppressed"], 1);
    // A wrong document is refused (the schema is not vacuous).
    let mut broken = doc.clone();
    broken["findings"][0]["level"] = serde_json::json!("fatal");
    assert!(!v.is_valid(&broken));
}

#[test]
fn junit_is_well_formed_with_one_case_per_rule_and_input() {
    let a = fixture();
    let cx = context(&a);
    let xml = render(&cx, OutputFormat::Junit);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    let n_rules = handlecheck::rules::registry().len();
    for s in &suites {
        let cases: Vec<_> = s
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), n_rules);
        let mut names: Vec<&str> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
        names.dedup();
        assert_eq!(names.len(), n_rules, "names are unique");
    }
    let case = |suite: usize, name: &str| {
        suites[suite]
            .children()
            .find(|n| n.attribute("name") == Some(name))
            .unwrap()
    };
    let failure = case(0, "HC001 double-release")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("HC001 fails");
    let body = failure.text().unwrap();
    assert!(body.contains("traces/service.strace:6: error:"), "{body}");
    assert!(
        body.contains("100 close(3) = -1 EBADF"),
        "evidence line in: {body}"
    );
    // A warning under --fail-on error passes, printing its finding.
    let hc005 = case(0, "HC005 worker-event-leak");
    assert!(hc005.children().all(|n| !n.has_tag_name("failure")));
    assert!(hc005.children().any(|n| n.has_tag_name("system-out")));
    // Special characters survive escaping.
    let hc008 = case(0, "HC008 invalid-handle");
    let out = hc008
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .unwrap()
        .text()
        .unwrap();
    assert!(out.contains("<this> & that"));
    assert_eq!(suites[0].attribute("failures"), Some("1"));
    assert_eq!(suites[1].attribute("failures"), Some("1"));
}

#[test]
fn github_commands_escape_messages_and_properties() {
    let a = fixture();
    let cx = context(&a);
    let out = render(&cx, OutputFormat::Github);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(
            "::error file=traces/service.strace,line=6,title=HC001 double-release::fd 3"
        ),
        "{}",
        lines[0]
    );
    // Binary input: no line, record in the message.
    assert!(
        lines[1].starts_with("::error file=traces/capture.etl,title=HC004 namespace-collision::"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("(traces/capture.etl record 42)"));
    let note = lines.iter().find(|l| l.starts_with("::notice")).unwrap();
    // `%` escaped, `:` and `,` kept in the message; the message's own line break was
    // neutralised (trace text), the evidence lines are joined by an escaped LF.
    assert!(note.contains("close(-1): 100%25 harmless, but: a, b\u{FFFD}and <this> & that [low confidence]%0A  traces/service.strace:7: closed -1 here: 100 close(-1)"), "{note}");
    for l in lines.iter().filter(|l| l.starts_with("::")) {
        assert!(!l.contains('\n') && !l.contains('\r'));
    }
    let summary = handlecheck::report::github::step_summary(&cx);
    assert!(
        summary.contains("| error | `HC001` double-release | traces/service.strace:6 |"),
        "{summary}"
    );
    assert!(
        summary.contains("100% harmless, but: a, b�and &lt;this&gt; &amp; that"),
        "{summary}"
    );
}

#[test]
fn github_annotations_are_capped_per_kind() {
    let mut a = fixture();
    let extra: Vec<Finding> = (0..15)
        .map(|i| {
            let mut f = a.findings[0].clone();
            f.fingerprint = format!("{}:{}", f.fingerprint, i + 2);
            f
        })
        .collect();
    a.findings.extend(extra);
    let cx = context(&a);
    let out = render(&cx, OutputFormat::Github);
    assert_eq!(out.lines().filter(|l| l.starts_with("::error")).count(), 10);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("::warning")).count(),
        1
    );
    assert!(out.contains("7 more findings not annotated"), "{out}");
}

#[test]
fn gitlab_issues_have_unique_fingerprints_and_mapped_severities() {
    let a = fixture();
    let cx = context(&a);
    let doc: serde_json::Value = serde_json::from_str(&render(&cx, OutputFormat::Gitlab)).unwrap();
    let issues = doc.as_array().unwrap();
    assert_eq!(issues.len(), 4);
    let mut fps: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    fps.sort();
    fps.dedup();
    assert_eq!(fps.len(), 4);
    let sev: Vec<&str> = issues
        .iter()
        .map(|i| i["severity"].as_str().unwrap())
        .collect();
    // Report order: errors first (blocker, critical), then warnings, then notes.
    assert_eq!(sev, ["blocker", "critical", "major", "info"]);
    assert_eq!(issues[0]["location"]["path"], "traces/service.strace");
    assert_eq!(issues[0]["location"]["lines"]["begin"], 6);
    assert_eq!(
        issues[1]["location"]["lines"]["begin"], 42,
        "binary input: the record number"
    );
    for i in issues {
        for k in ["description", "check_name", "fingerprint", "severity"] {
            assert!(!i[k].as_str().unwrap().is_empty());
        }
    }
}

#[test]
fn baseline_suppresses_known_findings_and_reports_stale_ones() {
    let a = fixture();
    let b = Baseline::from_findings(&a.findings);
    let text = b.to_json();
    let b = Baseline::parse(&text, "b.json").unwrap();
    assert_eq!(b.entries.len(), 4);
    // Same findings: all suppressed, nothing stale.
    let mut f = a.findings.clone();
    let all: Vec<&str> = handlecheck::rules::registry()
        .iter()
        .map(|r| r.meta().code)
        .collect();
    let r = b.apply(&mut f, &all, "b.json");
    assert!(f.is_empty());
    assert_eq!((r.suppressed, r.stale.len()), (4, 0));
    // HC001 fixed, a new HC001 elsewhere: the new one is reported, the old entry is stale.
    let mut f = a.findings.clone();
    f[0].fingerprint = fingerprint("HC001", "prog|close|file:/etc/passwd");
    let r = b.apply(&mut f, &all, "b.json");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].code, "HC001");
    assert_eq!(r.stale.len(), 1);
    assert_eq!(r.stale[0].code, "HC001");
    // Entries of rules that did not run are not stale.
    let mut f = Vec::new();
    let r = b.apply(&mut f, &["HC005"], "b.json");
    assert_eq!(r.stale.len(), 1);
    // A future version is refused.
    assert!(Baseline::parse(&text.replace("\"version\": 1", "\"version\": 9"), "b.json").is_err());
}

#[test]
fn snapshots_of_every_reporter() {
    let a = fixture();
    let cx = context(&a);
    for f in [
        OutputFormat::Sarif,
        OutputFormat::Junit,
        OutputFormat::Github,
        OutputFormat::Gitlab,
        OutputFormat::Json,
    ] {
        let text = render(&cx, f).replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
        insta::assert_snapshot!(format!("ci_{}", f.as_str()), text);
    }
    insta::assert_snapshot!(
        "ci_github_step_summary",
        handlecheck::report::github::step_summary(&cx)
    );
    let opts = handlecheck::report::human::HumanOptions {
        color: false,
        width: 100,
        quiet: false,
        show_folded: true,
    };
    let human: String = a
        .findings
        .iter()
        .map(|f| handlecheck::report::human::render_finding(&a, f, &opts))
        .collect();
    insta::assert_snapshot!("ci_human", human);
}
