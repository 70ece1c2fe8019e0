//! `--format sarif`: SARIF 2.1.0 as GitHub code scanning reads it.
//!
//! Every rule of the registry is listed in `tool.driver.rules` (so `ruleIndex`
//! is stable whatever was selected); rules that did not run are marked
//! `defaultConfiguration.enabled = false`. A result points at its primary
//! label; the other labels are `relatedLocations`, and all labels in trace
//! order form one thread flow. `partialFingerprints.primaryLocationLineHash`
//! is our fingerprint (rule + normalised site; never pids or handle values),
//! because `upload-sarif` can only compute one from a source file it finds.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::model::{Finding, Label, Level};

use super::ci::{CiContext, Place, by_severity, doc_section};
use super::pretty;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// `tool.driver.informationUri`: the project's home (Cargo.toml `repository`).
pub const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");
/// GitHub shows the first 1024 characters of short and full descriptions.
const MAX_DESCRIPTION: usize = 1024;

fn level(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "note",
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// A non-empty text (GitHub rejects empty strings in required properties).
fn non_empty(s: String, fallback: &str) -> String {
    if s.trim().is_empty() {
        fallback.to_string()
    } else {
        s
    }
}

/// A rule doc without the one space `///` comments leave at each line start.
fn dedent(doc: &str) -> String {
    doc.lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rule_json(r: &dyn crate::rules::Rule, enabled: bool) -> Value {
    let m = r.meta();
    let doc = &dedent(r.doc());
    let full = non_empty(doc_section(doc, "What it finds"), m.summary);
    json!({
        "id": m.code,
        "name": m.name,
        "shortDescription": { "text": clip(&non_empty(m.summary.to_string(), m.name), MAX_DESCRIPTION) },
        "fullDescription": { "text": clip(&full, MAX_DESCRIPTION) },
        "help": {
            "text": non_empty(plain_help(doc), m.summary),
            "markdown": non_empty(doc.trim().to_string(), m.summary),
        },
        "defaultConfiguration": { "level": level(m.level), "enabled": enabled },
        "properties": {
            "tags": ["handles", "reliability"],
            "precision": "high",
            "problem.severity": match m.level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Note => "recommendation",
            },
        },
    })
}

/// The doc as plain text: Markdown headings and code fences removed.
fn plain_help(doc: &str) -> String {
    doc.lines()
        .filter(|l| !l.trim_start().starts_with("```"))
        .map(|l| l.trim_start_matches("## "))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// The base every relative artifact URI is resolved against (`originalUriBaseIds`).
pub const SRCROOT: &str = "%SRCROOT%";

/// `artifactLocation`: a path below the repository root is relative to
/// `%SRCROOT%`; any other (absolute) path is a `file://` URI.
fn artifact(path: &str) -> Value {
    if path.starts_with('/') {
        json!({ "uri": format!("file://{}", uri(path)) })
    } else {
        json!({ "uri": uri(path), "uriBaseId": SRCROOT })
    }
}

fn physical(p: &Place) -> Value {
    // Every result has a line: a binary input's record number stands in
    // (the record also in `properties.record`, its byte offset in `byteOffset`).
    let mut region = match p.line {
        Some(line) => json!({ "startLine": line.max(1) }),
        None => json!({
            "startLine": p.record.unwrap_or(1).max(1),
            "byteOffset": p.offset,
            "properties": { "record": p.record.unwrap_or(0) },
        }),
    };
    if !p.text.is_empty() {
        region["snippet"] = json!({ "text": p.text });
    }
    json!({
        "artifactLocation": artifact(&p.path),
        "region": region,
    })
}

/// A relative URI reference for a path: `/` separators, spaces and other
/// characters outside the URI grammar percent-encoded.
pub fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn location(cx: &CiContext<'_>, l: &Label, id: Option<usize>) -> Value {
    let p = cx.locate(l);
    let mut v = json!({
        "physicalLocation": physical(&p),
        "message": { "text": non_empty(l.text.to_string(), l.role.as_str()) },
    });
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    v
}

fn result_json(cx: &CiContext<'_>, f: &Finding, rule_index: Option<usize>) -> Value {
    let primary = f.primary();
    let mut locations = Vec::new();
    let mut related = Vec::new();
    for (i, l) in f.labels.iter().enumerate() {
        if primary.is_some_and(|p| std::ptr::eq(p, l)) {
            locations.push(location(cx, l, None));
        } else {
            related.push(location(cx, l, Some(i + 1)));
        }
    }
    let flow: Vec<Value> = f
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "location": location(cx, l, None),
                "executionOrder": i + 1,
                "kinds": [l.role.as_str()],
            })
        })
        .collect();
    let mut message = non_empty(f.message.clone(), f.name);
    if !f.notes.is_empty() {
        message.push_str(".\n");
        message.push_str(&f.notes.join("\n"));
    }
    let mut v = json!({
        "ruleId": f.code,
        "level": level(f.level),
        "message": { "text": message },
        "locations": locations,
        "partialFingerprints": {
            "primaryLocationLineHash": f.fingerprint,
            "handlecheck/v1": f.fingerprint,
        },
        "properties": {
            "confidence": f.confidence.as_str(),
            "name": f.name,
        },
    });
    if let Some(i) = rule_index {
        v["ruleIndex"] = json!(i);
    }
    if !related.is_empty() {
        v["relatedLocations"] = Value::Array(related);
    }
    if !flow.is_empty() {
        v["codeFlows"] = json!([{ "threadFlows": [{ "locations": flow }] }]);
    }
    v
}

/// The SARIF log as text (see [`write`]).
pub fn render(cx: &CiContext<'_>) -> String {
    super::pretty::to_string(|w| write(cx, w))
}

/// Writes the SARIF log: the envelope (rules, notifications, artifacts), then
/// the results one at a time (each built, written and dropped), then the rest
/// of the run; the bytes of the whole document printed pretty at once.
pub fn write(cx: &CiContext<'_>, w: &mut dyn Write) -> io::Result<()> {
    let registry = crate::rules::registry();
    let rules: Vec<Value> = registry
        .iter()
        .map(|r| {
            let enabled = cx.rules.iter().any(|x| x.meta().code == r.meta().code);
            rule_json(*r, enabled)
        })
        .collect();
    let ordered = by_severity(&cx.findings);
    let total = ordered.len();
    let keep = cx
        .max_results
        .filter(|m| *m > 0)
        .map_or(total, |m| m.min(total));
    let mut notifications = Vec::new();
    let mut props = serde_json::Map::new();
    if keep < total {
        let text = format!(
            "{} of {total} results not shown (--max-results {keep}; 0 for no cap); errors are kept first, then warnings, then notes",
            total - keep
        );
        notifications.push(json!({ "level": "warning", "message": { "text": text } }));
        props.insert("truncated".into(), json!(true));
        props.insert("totalResults".into(), json!(total));
        props.insert("shownResults".into(), json!(keep));
    }
    for i in &cx.analysis.inputs {
        for (what, n) in &i.stats.lost {
            let text = format!(
                "{}: the tracer lost {n} {what}; findings an unseen event could explain have low confidence",
                cx.display_path(&i.path)
            );
            notifications.push(json!({ "level": "warning", "message": { "text": text } }));
        }
    }
    if let Some(b) = &cx.baseline {
        props.insert("baseline".into(), json!(b));
        if !b.stale.is_empty() {
            notifications.push(json!({
                "level": "note",
                "message": { "text": format!("{} stale baseline entries in {}", b.stale.len(), b.path) },
            }));
        }
    }
    for w in &cx.evidence.warnings {
        notifications.push(json!({ "level": "warning", "message": { "text": w } }));
    }
    for e in &cx.analysis.errors {
        notifications.push(json!({ "level": "error", "message": { "text": e.to_string() } }));
    }
    let artifacts: Vec<Value> = cx
        .analysis
        .inputs
        .iter()
        .map(|i| json!({ "location": artifact(&cx.display_path(&i.path)) }))
        .collect();
    let tool = json!({ "driver": {
        "name": "handlecheck",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "informationUri": INFORMATION_URI,
        "rules": rules,
    }});
    let invocations = json!([{
        "executionSuccessful": cx.analysis.errors.is_empty(),
        "toolExecutionNotifications": notifications,
    }]);
    let base_ids = cx.base_dir.as_ref().map(|base| {
        let mut root = format!("file://{}", uri(&base.to_string_lossy().replace('\\', "/")));
        if !root.ends_with('/') {
            root.push('/');
        }
        json!({ SRCROOT: { "uri": root } })
    });
    // Members in the order serde_json prints a map: by key.
    let mut doc = pretty::Object::begin(w, 0)?;
    doc.member(w, "$schema", SCHEMA_URI)?;
    let mut runs = doc.array(w, "runs")?;
    let mut run = runs.object(w)?;
    run.member(w, "artifacts", &artifacts)?;
    // GitHub code scanning's category: one per tool, stable across runs.
    run.member(w, "automationDetails", &json!({ "id": "handlecheck/" }))?;
    run.member(w, "columnKind", "unicodeCodePoints")?;
    run.member(w, "invocations", &invocations)?;
    if let Some(ids) = &base_ids {
        run.member(w, "originalUriBaseIds", ids)?;
    }
    if !props.is_empty() {
        run.member(w, "properties", &props)?;
    }
    let mut results = run.array(w, "results")?;
    for f in ordered.iter().take(keep) {
        let idx = registry.iter().position(|r| r.meta().code == f.code);
        results.item(w, &result_json(cx, f, idx))?;
    }
    results.end(w)?;
    run.member(w, "tool", &tool)?;
    run.end(w)?;
    runs.end(w)?;
    doc.member(w, "version", "2.1.0")?;
    doc.end(w)?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded() {
        assert_eq!(uri("traces/a b.log"), "traces/a%20b.log");
        assert_eq!(uri("x/ü"), "x/%C3%BC");
        assert_eq!(uri("plain/path-1.log"), "plain/path-1.log");
    }

    #[test]
    fn clip_respects_char_boundaries() {
        let s = "é".repeat(600);
        let c = clip(&s, 1024);
        assert!(c.len() <= 1024);
        assert!(c.ends_with("..."));
    }
}
