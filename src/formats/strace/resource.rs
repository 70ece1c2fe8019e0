//! `-y` decorations: what kind of object an fd is and its identity text.
//!
//! Forms (research strace.md 1.9): `/path`, `/path` + `(deleted)`,
//! `/dev/null<char 1:3>` (-yy), `pipe:[8870]`, `socket:[8887]`, protocol forms
//! `TCP:[a->b]`, `UNIX-STREAM:[..]`, `NETLINK:[..]`, `anon_inode:[eventfd]`,
//! `anon_inode:inotify`, `pid:4252` (-yy pidfd), `{eventfd-count=..}` (≥ 6.10),
//! `/memfd:name` + `(deleted)`. Paths escape `<`/`>` as `\74`/`\76`.

use crate::model::ResourceKind;

/// The kind of object a decoration names.
pub fn kind_of(deco: &[u8]) -> ResourceKind {
    use ResourceKind::*;
    match deco.first() {
        Some(b'/') => {
            if deco.starts_with(b"/memfd:") {
                MemFd
            } else if deco.starts_with(b"/dev/") {
                CharDevice
            } else {
                File
            }
        }
        Some(b'a') if deco.starts_with(b"anon_inode:") => {
            let rest = deco.get(11..).unwrap_or(&[]);
            let rest = rest.strip_prefix(b"[").unwrap_or(rest);
            if rest.starts_with(b"eventfd") {
                EventFd
            } else if rest.starts_with(b"timerfd") {
                TimerFd
            } else if rest.starts_with(b"signalfd") {
                SignalFd
            } else if rest.starts_with(b"eventpoll") {
                Epoll
            } else if rest.starts_with(b"inotify") {
                Inotify
            } else if rest.starts_with(b"pidfd") {
                PidFd
            } else {
                OtherAnon
            }
        }
        Some(b'p') if deco.starts_with(b"pipe:") => Pipe,
        Some(b'p') if deco.starts_with(b"pid:") => PidFd,
        Some(b's') if deco.starts_with(b"socket:") => Socket,
        Some(b'{') if deco.starts_with(b"{eventfd") => EventFd,
        Some(b'{') if deco.starts_with(b"{signalfd") => SignalFd,
        Some(c) if c.is_ascii_uppercase() => {
            // Protocol names: TCP, TCPv6, UDP, UNIX-STREAM, NETLINK, L2TP/IP...
            let name_len = deco.iter().take_while(|b| **b != b':').count();
            if deco.get(name_len + 1) == Some(&b'[') {
                Socket
            } else {
                Unknown
            }
        }
        _ => Unknown,
    }
}

/// Writes the identity text of a decoration into `out` (cleared first):
/// the outer decoration without nested `<...>` parts, `\74`/`\76` unescaped,
/// ` (deleted)` appended when the fd was followed by `(deleted)`.
pub fn identity(deco: &[u8], deleted: bool, out: &mut Vec<u8>) {
    out.clear();
    if memchr::memchr3(b'\\', b'"', b'<', deco).is_none() {
        // The common case, a plain path: nothing to cut or unescape.
        out.extend_from_slice(deco);
        if deleted {
            out.extend_from_slice(b" (deleted)");
        }
        return;
    }
    // A nested decoration (`/dev/null<char 1:3>`) starts at the first raw `<`
    // outside strings; paths never contain a raw `<` (it is escaped).
    let mut end = deco.len();
    let mut i = 0;
    while let Some(&b) = deco.get(i) {
        match b {
            b'\\' => i += 1,
            b'"' => {
                i = super::tokenize::skip_string(deco, i + 1);
                continue;
            }
            b'<' => {
                end = i;
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let body = deco.get(..end).unwrap_or(deco);
    let mut rest = body;
    while let Some(k) = super::tokenize::find_pair(rest, b'\\', b'7') {
        let (head, tail) = rest.split_at(k);
        out.extend_from_slice(head);
        match tail.get(2) {
            Some(b'4') => {
                out.push(b'<');
                rest = tail.get(3..).unwrap_or(&[]);
            }
            Some(b'6') => {
                out.push(b'>');
                rest = tail.get(3..).unwrap_or(&[]);
            }
            _ => {
                out.extend_from_slice(tail.get(..2).unwrap_or(tail));
                rest = tail.get(2..).unwrap_or(&[]);
            }
        }
    }
    out.extend_from_slice(rest);
    if deleted {
        out.extend_from_slice(b" (deleted)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceKind::*;

    #[test]
    fn kinds() {
        let cases: &[(&[u8], ResourceKind)] = &[
            (b"/etc/hostname", File),
            (b"/dev/null<char 1:3>", CharDevice),
            (b"/memfd:zoo-memfd", MemFd),
            (b"pipe:[8870]", Pipe),
            (b"socket:[8887]", Socket),
            (b"TCP:[127.0.0.1:33845->127.0.0.1:59744]", Socket),
            (b"TCPv6:[[::1]:46681]", Socket),
            (b"UNIX-STREAM:[21100->21096,\"/tmp/hc-test.sock\"]", Socket),
            (b"NETLINK:[ROUTE:11243]", Socket),
            (b"anon_inode:[eventfd]", EventFd),
            (b"anon_inode:[timerfd]", TimerFd),
            (b"anon_inode:[signalfd]", SignalFd),
            (b"anon_inode:[eventpoll]", Epoll),
            (b"anon_inode:inotify", Inotify),
            (b"anon_inode:[pidfd]", PidFd),
            (b"anon_inode:[io_uring]", OtherAnon),
            (b"pid:4252", PidFd),
            (
                b"{eventfd-count=0x5, eventfd-id=12, eventfd-semaphore=0}",
                EventFd,
            ),
            (b"misc", Unknown),
        ];
        for (d, k) in cases {
            assert_eq!(kind_of(d), *k, "{}", String::from_utf8_lossy(d));
        }
    }

    #[test]
    fn identities() {
        let mut out = Vec::new();
        identity(br#"/tmp/weird/a\76b\74c d\nq"#, false, &mut out);
        assert_eq!(out, br#"/tmp/weird/a>b<c d\nq"#);
        identity(b"/dev/null<char 1:3>", false, &mut out);
        assert_eq!(out, b"/dev/null");
        identity(b"/memfd:zoo-memfd", true, &mut out);
        assert_eq!(out, b"/memfd:zoo-memfd (deleted)");
        identity(b"TCP:[127.0.0.1:1->127.0.0.1:2]", false, &mut out);
        assert_eq!(out, b"TCP:[127.0.0.1:1->127.0.0.1:2]");
    }
}
