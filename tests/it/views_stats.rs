//! `handlecheck stats`: per process and type counts that add up, peaks, top
//! sites with the culprit frame, several inputs, PerfView's ETL event names.

use std::collections::BTreeMap;

use assert_cmd::Command;
use predicates::prelude::*;

use crate::common::views::*;
use handlecheck::analysis::Selection;
use handlecheck::report::views::stats;

fn hc() -> Command {
    Command::cargo_bin("handlecheck").unwrap()
}

#[test]
fn counts_add_up_on_every_format() {
    let mut inputs: Vec<&str> = EVERY_FORMAT.to_vec();
    inputs.extend([
        JSONL_HC006,
        "fixtures/strace/rules/fork_exec_leak/trace.log",
        "fixtures/htrace/cppresourceleaks_x86_session.txt",
        "fixtures/appverif/trippy1443_handles_0x300.xml",
    ]);
    for path in inputs {
        let a = analyze_with(&[path], Selection::default());
        let procs = stats::build(&a, &Selection::default());
        for p in &procs {
            for r in p.types.iter().chain(std::iter::once(&p.total)) {
                // Every handle that appeared either ended or was open when its process did.
                let made = r.opened + r.duplicated + r.received + r.inherited + r.preexisting;
                assert_eq!(
                    made,
                    r.closed + r.live_at_end,
                    "{path} pid {} {}",
                    p.pid,
                    r.kind
                );
                assert!(r.peak_live >= r.live_at_end.min(1), "{path} {r:?}");
                assert!(r.peak_live <= made, "{path} {r:?}");
            }
            let max_type_peak = p.types.iter().map(|r| r.peak_live).max().unwrap_or(0);
            let sum_type_peak: u64 = p.types.iter().map(|r| r.peak_live).sum();
            assert!(p.total.peak_live >= max_type_peak && p.total.peak_live <= sum_type_peak);
        }
    }
}

#[test]
fn fork_child_counts_inherited_handles_and_names_its_program() {
    let a = analyze_with(
        &["fixtures/strace/rules/fork_exec_leak/trace.log"],
        Selection::default(),
    );
    let procs = stats::build(&a, &Selection::default());
    let pids: Vec<u32> = procs.iter().map(|p| p.pid).collect();
    assert_eq!(pids, [5694, 5695]);
    assert_eq!(procs[0].program.as_deref(), Some("./fork_exec_leak"));
    assert_eq!(procs[1].program.as_deref(), Some("/bin/ls"));
    assert_eq!(procs[0].total.inherited, 0);
    // The socket and files the parent left without close-on-exec.
    assert_eq!(procs[1].total.inherited, 3);
    assert_eq!(procs[1].total.live_at_end, 2);
}

#[test]
fn leak_site_with_culprit_frame() {
    let a = analyze_with(&[JSONL_HC006], Selection::default());
    let procs = stats::build(&a, &Selection::default());
    let p = procs.iter().find(|p| p.pid == 30).unwrap();
    let key = p.types.iter().find(|r| r.kind == "Key").unwrap();
    assert_eq!(
        (key.opened, key.closed, key.peak_live, key.live_at_end),
        (4, 0, 4, 4)
    );
    let site = &p.top_sites[0];
    assert_eq!(site.open_at_end, 4);
    // ntdll is the OS: the culprit is the program's frame.
    assert_eq!(site.culprit.as_deref(), Some("app!read_setting+0x10"));
}

#[test]
fn several_inputs_at_once_and_pid_filter() {
    let out = hc()
        .args(["stats", "-f", "json", JSONL_HC004, JSONL_HC006])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(v["inputs"][1]["format"], "jsonl");
    let pids: Vec<u64> = v["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids, [10, 30]);
    hc().args(["stats", "--pid", "30", JSONL_HC004, JSONL_HC006])
        .assert()
        .success()
        .stdout(predicate::str::contains("pid 30"))
        .stdout(predicate::str::contains("pid 10").not())
        .stdout(predicate::str::contains("app!read_setting+0x10"));
}

/// `COUNT Windows Kernel/DiskIO/Read:1208` → ("DiskIO/Read", 1208).
fn perfview_counts(baseline: &str) -> BTreeMap<String, u64> {
    baseline
        .lines()
        .filter_map(|l| l.strip_prefix("COUNT Windows Kernel/"))
        .filter_map(|l| {
            let (event, n) = l.rsplit_once(':')?;
            Some((event.to_string(), n.parse().ok()?))
        })
        .collect()
}

#[test]
fn etl_event_names_and_counts_match_perfview() {
    let etl = fixture("etl/perfview_net.4.5.2.x64.etl");
    let base = fixture("etl/perfview_net.4.5.2.x64.baseline.txt");
    if !std::path::Path::new(&etl).exists() {
        eprintln!("SKIP: {etl} is not here");
        return;
    }
    let out = hc().args(["stats", "-f", "json", &etl]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_event = v["inputs"][0]["counters"].as_object().unwrap();
    let want = perfview_counts(&std::fs::read_to_string(base).unwrap());
    let mut checked = 0;
    for (name, n) in &want {
        // PerfView counts these groups record for record (PerfInfo/Sample it filters).
        let group = name.split('/').next().unwrap();
        if !["DiskIO", "TcpIp", "UdpIp", "SystemConfig", "Memory"].contains(&group) {
            continue;
        }
        assert_eq!(
            by_event.get(name).and_then(|x| x.as_u64()),
            Some(*n),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} PerfView names checked");
    assert!(
        !by_event.keys().any(|k| k.starts_with("DiskIO/1")),
        "numeric DiskIO names left"
    );
}

#[test]
fn stats_of_an_unknown_input_is_exit_2() {
    let (_d, p) = temp_trace("x.txt", "hello\n");
    hc().args(["stats", &p])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a trace format"));
}

/// Real public ETL traces (read from ../shared/samples, never copied): no
/// handle events in them, but every view must still run and say so plainly.
#[test]
fn real_etl_samples_through_every_view() {
    let dir = format!("{}/../shared/samples/etl-more", root());
    let samples = [
        "airbus_lxcore_kernel.etl",
        "krabsetw_powershell.etl",
        "perfview_smallEtlFile.etl",
    ];
    let present: Vec<String> = samples
        .iter()
        .map(|s| format!("{dir}/{s}"))
        .filter(|p| std::path::Path::new(p).exists())
        .collect();
    if present.is_empty() {
        eprintln!("SKIP: no ETL samples in {dir}");
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    for p in &present {
        let out = hc().args(["stats", "-f", "json", p]).output().unwrap();
        assert!(
            out.status.success(),
            "{p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v["inputs"][0]["units"].as_u64().unwrap() > 0, "{p}");
        hc().args(["graph", p])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("digraph handles {"));
        hc().args(["timeline", p, "--handle", "4"])
            .assert()
            .success();
        let page = out_dir.path().join("etl.html");
        hc().args(["analyze", "-q", "--fail-on", "never", "-f", "html", "-o"])
            .arg(&page)
            .arg(p)
            .assert()
            .success();
        assert!(
            std::fs::read_to_string(&page)
                .unwrap()
                .contains("<svg id=\"live-chart\"")
        );
    }
}
