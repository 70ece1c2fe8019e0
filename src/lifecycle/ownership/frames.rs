//! Code paths: a stack reduced to the program's own frames, innermost first,
//! without addresses or offsets, and without libc / ld.so / runtime frames.
//! Two calls with the same code path came from the same code, wherever in
//! memory the program was loaded and whichever line of a function called.

use crate::model::{Interner, StackId};

/// Most frames a code path keeps (innermost first).
const DEPTH: usize = 6;

/// Module names (lower case, without directory) whose frames are not the
/// program's own: the C library, the dynamic loader, language runtimes and the
/// Windows system DLLs a handle call goes through.
fn is_runtime_module(module: &str) -> bool {
    let m = module.to_ascii_lowercase();
    const PREFIXES: [&str; 17] = [
        "libc.so",
        "libc-",
        "ld-linux",
        "ld-musl",
        "libpthread",
        "libstdc++",
        "libgcc_s",
        "libc++",
        "libperl",
        "libpython",
        "ntdll",
        "kernelbase",
        "kernel32",
        "ucrtbase",
        "msvcrt",
        "vcruntime",
        "coreclr",
    ];
    PREFIXES.iter().any(|p| m.starts_with(p))
        || m.starts_with("system.private.corelib")
        || m.starts_with("clr.dll")
        || m == "[vdso]"
}

/// One frame's identity: module and function, without offset or address.
/// Frames without a symbol keep their offset (it is the only identity they have).
/// `None` for runtime frames.
pub fn frame_key(text: &str) -> Option<String> {
    let text = text.split(" [").next().unwrap_or(text).trim();
    // strace -k: `/path/module(symbol+0x1f) [0xaddr]`; ETW / jsonl: `module!Symbol+0x10`.
    let (module, symbol) = if let Some((m, rest)) = text.split_once('(') {
        (m, rest.trim_end_matches(')'))
    } else if let Some((m, s)) = text.split_once('!') {
        (m, s)
    } else {
        (text, "")
    };
    let module = module.rsplit(['/', '\\']).next().unwrap_or(module);
    if is_runtime_module(module) {
        return None;
    }
    let symbol = match symbol.split_once('+') {
        Some((name, _)) if !name.is_empty() => name,
        _ => symbol,
    };
    Some(format!("{module}!{symbol}"))
}

/// The program's own frames of a stack, innermost first; empty when the stack
/// holds only runtime frames. The innermost program frame keeps its offset
/// (the call site itself: two `close` calls in one function are two sites);
/// its callers do not (one site reached from two lines of a caller is one path).
pub fn code_path(interner: &Interner, stack: StackId) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in interner.frames(stack) {
        let text = interner.resolve(*f);
        let Some(key) = frame_key(text) else { continue };
        if out.is_empty() {
            out.push(call_site_key(text).unwrap_or(key));
        } else {
            out.push(key);
        }
        if out.len() == DEPTH {
            break;
        }
    }
    out
}

/// The innermost program frame with its offset: `prog!cfg_close+0x11`.
fn call_site_key(text: &str) -> Option<String> {
    let text = text.split(" [").next().unwrap_or(text).trim();
    let (module, symbol) = if let Some((m, rest)) = text.split_once('(') {
        (m, rest.trim_end_matches(')'))
    } else if let Some((m, s)) = text.split_once('!') {
        (m, s)
    } else {
        return None;
    };
    let module = module.rsplit(['/', '\\']).next().unwrap_or(module);
    Some(format!("{module}!{symbol}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_frames_lose_offsets_and_libc() {
        assert_eq!(
            frame_key("/usr/lib/x86_64-linux-gnu/libc.so.6(__close+0x3a) [0xf8a1a]"),
            None
        );
        assert_eq!(
            frame_key("/home/dev/prog(cfg_close+0x11) [0x11ca]").as_deref(),
            Some("prog!cfg_close")
        );
        assert_eq!(
            frame_key(
                "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x26f0) [0x1ab70]"
            ),
            None
        );
    }

    #[test]
    fn windows_frames_keep_offsets_only_without_symbols() {
        assert_eq!(frame_key("ntdll!NtClose+0x14"), None);
        assert_eq!(
            frame_key("app!EventHolder.Dispose+0x10").as_deref(),
            Some("app!EventHolder.Dispose")
        );
        assert_eq!(
            frame_key("app.exe+0x1234").as_deref(),
            Some("app.exe+0x1234!")
        );
    }

    #[test]
    fn two_calls_from_one_function_share_a_path() {
        let mut i = Interner::new();
        let a = [
            i.intern("/usr/lib/libc.so.6(__close+0x3a) [0xf8a1a]"),
            i.intern("/p/prog(cfg_close+0x11) [0x11ca]"),
            i.intern("/p/prog(offender+0x6c) [0x1239]"),
        ];
        let b = [
            i.intern("/usr/lib/libc.so.6(__close+0x3a) [0xf8a1a]"),
            i.intern("/p/prog(cfg_close+0x11) [0x11ca]"),
            i.intern("/p/prog(offender+0x3a) [0x1207]"),
        ];
        let (sa, sb) = (i.intern_stack(&a), i.intern_stack(&b));
        assert_eq!(code_path(&i, sa), code_path(&i, sb));
        assert_eq!(
            code_path(&i, sa),
            vec!["prog!cfg_close+0x11", "prog!offender"]
        );
        let c = [
            i.intern("/usr/lib/libc.so.6(__close+0x3a) [0xf8a1a]"),
            i.intern("/p/prog(cfg_close+0x19) [0x11d2]"),
            i.intern("/p/prog(offender+0x6c) [0x1239]"),
        ];
        let sc = i.intern_stack(&c);
        assert_ne!(
            code_path(&i, sa),
            code_path(&i, sc),
            "another close call site"
        );
    }
}
