//! The human report in a real 80-column terminal (a tmux pane): the width
//! comes from the terminal itself (no COLUMNS), no line is wider than the
//! pane (so the terminal never wraps one), colour on a TTY unless `CI` is set.
//! Needs tmux (`apt-get install tmux`); skipped, saying so, without it.

use std::process::Command;
use std::time::{Duration, Instant};

const TRACE: &str = "fixtures/strace/rules/stale_close_kills_other_thread/trace-k.log";

fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .output()
        .unwrap()
}

/// Runs `env` + handlecheck in an 80x300 pane; returns the screen with
/// wrapped lines joined (`-J`) and escapes kept (`-e`).
fn in_pane(name: &str, env: &str) -> Option<String> {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIP: tmux is not installed (apt-get install tmux)");
        return None;
    }
    let socket = format!("hc-{}-{name}", std::process::id());
    let bin = assert_cmd::cargo::cargo_bin("handlecheck");
    let trace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(TRACE);
    let cmd = format!(
        "env -u COLUMNS -u NO_COLOR -u CLICOLOR -u CLICOLOR_FORCE -u FORCE_COLOR -u CI TERM=xterm-256color {env} {} analyze --no-config {}; echo __DONE__; sleep 60",
        bin.display(),
        trace.display()
    );
    let out = tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "300",
            "-s",
            "t",
            &cmd,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = Instant::now();
    let screen = loop {
        let cap = tmux(
            &socket,
            &["capture-pane", "-p", "-J", "-e", "-S", "-", "-t", "t"],
        );
        let text = String::from_utf8_lossy(&cap.stdout).into_owned();
        if text.contains("__DONE__") {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no output: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    tmux(&socket, &["kill-server"]);
    Some(screen)
}

fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[test]
fn eighty_columns_from_the_terminal_and_no_line_wraps() {
    let Some(screen) = in_pane("w", "") else {
        return;
    };
    assert!(screen.contains('\x1b'), "a TTY gets colour");
    let plain = strip_escapes(&screen);
    assert!(plain.lines().count() > 20, "{plain}");
    assert!(plain.contains("error[HC004]: "), "{plain}");
    assert!(plain.contains("1 error, 0 warnings, 0 notes"), "{plain}");
    let long: Vec<&str> = plain
        .lines()
        .filter(|l| l.trim_end().chars().count() > 80)
        .collect();
    assert!(
        long.is_empty(),
        "lines the terminal had to wrap:\n{}",
        long.join("\n")
    );
    // Long trace lines are elided around the call, not cut by the terminal.
    assert!(plain.contains('…'), "{plain}");
}

#[test]
fn ci_clicolor_0_and_dumb_terminals_get_no_colour_on_a_tty() {
    for (name, env) in [
        ("ci", "CI=true"),
        ("cc", "CLICOLOR=0"),
        ("dumb", "TERM=dumb"),
    ] {
        let Some(screen) = in_pane(name, env) else {
            return;
        };
        assert!(screen.contains("error[HC004]"), "{env}: {screen}");
        assert!(!screen.contains('\x1b'), "{env}: no colour even on a TTY");
    }
}
