//! The fingerprint contract in one place: how a finding's site is spelled
//! (resources with their digit runs folded, stack frames by module and function
//! only) and how rule plus site become the fingerprint that baselines and CI
//! diffs key on. Changing anything here changes every fingerprint: the tests
//! pin the values.

use crate::model::{Interner, StackId};

/// Folds digit runs so that `/tmp/x-123` and `/tmp/x-456` are one site.
pub fn fold_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_digits_into(text, &mut out);
    out
}

/// [`fold_digits`] written into `out` (emptied first), for callers that fold
/// often and keep one buffer: every run of ASCII digits becomes one `N`.
pub fn fold_digits_into(text: &str, out: &mut String) {
    out.clear();
    // Digits are ASCII, so the bytes between runs are copied whole and stay UTF-8.
    let mut rest = text;
    while let Some(k) = rest.bytes().position(|b| b.is_ascii_digit()) {
        out.push_str(&rest[..k]);
        out.push('N');
        let after = &rest[k..];
        let run = after.bytes().take_while(u8::is_ascii_digit).count();
        rest = &after[run..];
    }
    out.push_str(rest);
}

/// One frame as a fingerprint sees it: `libc.so.6(close+0x17) [0x10a3b7]` →
/// `libc.so.6(close)`, `./prog(+0x11d5)` → `prog`, `KERNELBASE!CloseHandle+0x12`
/// → `KERNELBASE!CloseHandle`, `app.exe+0x1234` → `app.exe`.
pub fn frame_site(frame: &str) -> String {
    let t = frame.split(" [").next().unwrap_or(frame).trim();
    let base = |m: &str| m.rsplit(['/', '\\']).next().unwrap_or(m).to_string();
    if let Some((module, rest)) = t.split_once('(') {
        let inside = rest.strip_suffix(')').unwrap_or(rest);
        let function = inside.split('+').next().unwrap_or("");
        return if function.is_empty() {
            base(module)
        } else {
            format!("{}({function})", base(module))
        };
    }
    if let Some((module, function)) = t.split_once('!') {
        let function = function.split('+').next().unwrap_or("");
        return format!("{}!{function}", base(module));
    }
    base(t.split('+').next().unwrap_or(t))
}

/// 64-bit FNV-1a of the rule code and site, as 16 hex digits: stable across
/// runs, machines and versions (never from pids or handle values).
pub fn fingerprint(code: &str, site: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in code.bytes().chain([0u8]).chain(site.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Frames of the OS, the C runtime and instrumentation: the culprit is the
/// first frame after them.
pub const SYSTEM_FRAMES: &[&str] = &[
    "ntdll",
    "kernelbase",
    "kernel32",
    "ucrtbase",
    "msvcrt",
    "msvcp",
    "vcruntime",
    "api-ms-win-",
    "ntoskrnl",
    "win32u",
    "verifier",
    "vfbasics",
    "vrfcore",
    "wow64",
    "libc.so",
    "ld-linux",
    "libpthread",
];

/// The culprit of a stack: its first frame (innermost first) that belongs to
/// the program, past the OS, the C runtime and instrumentation
/// ([`SYSTEM_FRAMES`]), without its address. HC006 and the views name it.
pub fn culprit_frame(interner: &Interner, stack: StackId) -> Option<String> {
    interner
        .frames(stack)
        .iter()
        .map(|f| interner.resolve(*f))
        .find(|t| {
            let lower = t.to_ascii_lowercase();
            let unresolved = lower.starts_with("+0x") || lower.starts_with("0x");
            !unresolved && !SYSTEM_FRAMES.iter().any(|m| lower.starts_with(m))
        })
        .map(|t| crate::model::sanitize::for_terminal(t.split(" [0x").next().unwrap_or(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_fold_to_one_n() {
        assert_eq!(fold_digits("/tmp/x-123/y45"), "/tmp/x-N/yN");
        assert_eq!(fold_digits("pipe:[59631]"), "pipe:[N]");
        assert_eq!(fold_digits("no digits"), "no digits");
        assert_eq!(fold_digits("12é3x45"), "NéNxN");
        // Only ASCII digits fold (not Arabic-Indic ones); the buffer is emptied first.
        let mut out = String::from("left over");
        fold_digits_into("١٢٣/9", &mut out);
        assert_eq!(out, "١٢٣/N");
        fold_digits_into("", &mut out);
        assert_eq!(out, "");
        fold_digits_into("00a00", &mut out);
        assert_eq!(out, "NaN");
    }

    #[test]
    fn fingerprints_are_pinned() {
        // This exact value is what baselines hold: FNV-1a of code, NUL, site.
        assert_eq!(
            fingerprint("HC001", "prog|close|file|/etc/hostname|").len(),
            16
        );
        assert_ne!(fingerprint("HC001", "a"), fingerprint("HC002", "a"));
        assert_ne!(fingerprint("HC001", "ab"), fingerprint("HC001a", "b"));
        assert_eq!(
            fingerprint("HC001", "prog|close|file|/etc/hostname|"),
            PINNED
        );
    }

    #[test]
    fn the_culprit_is_the_first_program_frame() {
        let mut i = Interner::new();
        let frames: Vec<_> = [
            "ntdll!NtCreateEvent+0x14",
            "ucrtbase!_beginthreadex+0x20",
            "0x7ff6",
            "pool!StartWorkers+0x4b",
            "pool!main+0x10",
        ]
        .iter()
        .map(|f| i.intern(f))
        .collect();
        let stack = i.intern_stack(&frames);
        assert_eq!(
            culprit_frame(&i, stack).as_deref(),
            Some("pool!StartWorkers+0x4b")
        );
        let sys: Vec<_> = ["libc.so.6(close+0x17) [0x10a3b7]"]
            .iter()
            .map(|f| i.intern(f))
            .collect();
        let only_system = i.intern_stack(&sys);
        assert_eq!(culprit_frame(&i, only_system), None);
    }

    const PINNED: &str = "84aab72e031bdd76";
}

#[cfg(test)]
mod frame_tests {
    use super::*;

    #[test]
    fn frames_lose_offsets_and_paths() {
        assert_eq!(
            frame_site("/usr/lib/x86_64-linux-gnu/libc.so.6(close+0x17) [0x10a3b7]"),
            "libc.so.6(close)"
        );
        assert_eq!(
            frame_site("./double_close(main+0x55) [0x11d5]"),
            "double_close(main)"
        );
        assert_eq!(frame_site("./prog(+0x11d5) [0x11d5]"), "prog");
        assert_eq!(
            frame_site("KERNELBASE!CloseHandle+0x12"),
            "KERNELBASE!CloseHandle"
        );
        assert_eq!(frame_site("C:\\app\\app.exe+0x1234"), "app.exe");
    }
}
