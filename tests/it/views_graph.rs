//! `handlecheck graph`: generations as nodes, links as edges, findings
//! highlighted, labels escaped; the DOT output rendered by the real Graphviz.

use std::io::Write;
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;

use crate::common::views::*;

fn hc() -> Command {
    Command::cargo_bin("handlecheck").unwrap()
}

fn graph_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["graph", "-f", "json"];
    all.extend_from_slice(args);
    let out = hc().args(&all).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn dot_available() -> bool {
    StdCommand::new("dot").arg("-V").output().is_ok()
}

/// `dot -Tsvg` of `text`: the SVG, or a failure with Graphviz's message.
fn render_svg(text: &str) -> String {
    let mut child = StdCommand::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn collision_chain_as_json() {
    let v = graph_json(&[STRACE_HC004, "--handle", "3"]);
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4, "{v:#}");
    let edges = v["edges"].as_array().unwrap();
    let recycled = edges.iter().filter(|e| e["link"] == "recycled-as").count();
    assert_eq!(recycled, 3, "{v:#}");
    // The ownership analysis adds its own links: the stale release of the
    // eventfd generation by the holder of the file generation.
    let others: Vec<&serde_json::Value> = edges
        .iter()
        .filter(|e| e["link"] != "recycled-as")
        .map(|e| &e["link"])
        .collect();
    assert_eq!(others, [&serde_json::json!("stale-release-of")], "{v:#}");
    let flagged: Vec<&str> = nodes
        .iter()
        .filter(|n| {
            n["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "HC004")
        })
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, ["file", "eventfd"]);
}

#[test]
fn fork_links_cross_into_the_child() {
    let v = graph_json(&[
        "fixtures/strace/rules/fork_exec_leak/trace.log",
        "--pid",
        "5695",
    ]);
    let nodes = v["nodes"].as_array().unwrap();
    let pid_of = |id: &serde_json::Value| {
        nodes
            .iter()
            .find(|n| n["id"] == *id)
            .map(|n| n["pid"].as_u64().unwrap())
    };
    let inherited: Vec<_> = v["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["link"] == "inherited-by")
        .collect();
    assert!(!inherited.is_empty());
    for e in inherited {
        assert_eq!(
            pid_of(&e["from"]),
            Some(5694),
            "parent side kept as context"
        );
        assert_eq!(pid_of(&e["to"]), Some(5695));
    }
}

#[test]
fn every_format_gives_a_consistent_graph() {
    for path in EVERY_FORMAT {
        let v = graph_json(&[path]);
        let ids: Vec<&str> = v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap())
            .collect();
        if path != APPVERIF {
            assert!(!ids.is_empty(), "{path}");
        }
        for e in v["edges"].as_array().unwrap() {
            assert!(ids.contains(&e["from"].as_str().unwrap()), "{path}");
            assert!(ids.contains(&e["to"].as_str().unwrap()), "{path}");
        }
    }
}

#[test]
fn dot_renders_in_graphviz_with_escaped_labels() {
    if !dot_available() {
        eprintln!("SKIP: Graphviz `dot` is not installed (apt-get install graphviz)");
        return;
    }
    for path in EVERY_FORMAT {
        let out = hc().args(["graph", path]).output().unwrap();
        assert!(out.status.success());
        render_svg(&String::from_utf8(out.stdout).unwrap());
    }
    let out = hc()
        .args(["graph", STRACE_HC004, "--handle", "3"])
        .output()
        .unwrap();
    let svg = render_svg(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(svg.matches("fd 3 · pid 5850").count(), 4);
    assert_eq!(svg.matches("recycled&#45;as").count(), 3);
    assert!(svg.contains("/etc/hostname") && svg.contains("anon_inode:[eventfd]"));
    assert!(svg.contains("#f8d0d0"), "findings highlighted");

    // A name with quotes, a backslash, markup and a newline, and a dup.
    let (_d, p) = temp_trace(
        "dup.jsonl",
        concat!(
            r#"{"v":1,"ts":1000,"pid":7,"tid":8,"op":"open","handle":"0x10","type":"File","name":"C:\\a \"quoted\" <b>\nx"}"#,
            "\n",
            r#"{"v":1,"ts":2000,"pid":7,"tid":8,"op":"dup","handle":"0x14","source_handle":"0x10"}"#,
            "\n",
            r#"{"v":1,"ts":3000,"pid":7,"tid":8,"op":"close","handle":"0x10"}"#,
            "\n",
        ),
    );
    // The closed source generation is kept because it is the selected value
    // (without a selection the builder drops clean ended generations).
    let out = hc()
        .args(["graph", &p, "--handle", "0x10"])
        .output()
        .unwrap();
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(dot.contains(r#"C:\\a \"quoted\" <b>"#), "{dot}");
    let svg = render_svg(&dot);
    assert!(svg.contains("C:\\a &quot;quoted&quot; &lt;b&gt;"), "{svg}");
    assert!(svg.contains("duplicated&#45;as"));
}

#[test]
fn graph_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.dot");
    hc().args(["graph", HTRACE_HC004, "-o", p.to_str().unwrap()])
        .assert()
        .success()
        .stdout("");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.starts_with("digraph handles {"));
    assert!(text.contains("handle 0x48 · pid 12048"));
}
