//! .NET Framework releaseHandleFailed MDA messages anywhere in debugger output
//! or logs: "A SafeHandle or CriticalHandle of type 'X' failed to properly
//! release the handle with value 0x...". Line breaks may fall between words.

use crate::model::{ErrorClass, Event, Op, Origin, Outcome};

use super::htrace::text::{
    Lines, event_ids, find, looks_like_strace, parse_hex, strip_bom, take_hex,
};
use super::{InputError, ReadContext};

const ANCHOR: &[u8] = b"CriticalHandle";
/// Longest SafeHandle type name accepted.
const MAX_TYPE: usize = 1024;

/// True when the head holds a releaseHandleFailed message, is not strace text
/// and is not claimed by the htrace or appverif sniffers.
pub fn sniff(head: &[u8]) -> bool {
    let (head, _) = strip_bom(head);
    if super::htrace::sniff(head) || super::appverif::sniff(head) {
        return false;
    }
    let mut found = false;
    for (_, _, line) in Lines::new(head) {
        if looks_like_strace(line) {
            return false;
        }
        found |= find(line, b"CriticalHandle of type").is_some();
    }
    found
}

/// Skips whitespace (including line breaks, and the `>` Markdown quote markers
/// that start a quoted line); returns the rest and whether any was skipped.
fn skip_ws(s: &[u8]) -> (&[u8], bool) {
    let mut n = 0;
    let mut line_start = false;
    while let Some(&b) = s.get(n) {
        if b == b'\n' {
            line_start = true;
        } else if b == b'>' && line_start {
        } else if !b.is_ascii_whitespace() {
            break;
        }
        n += 1;
    }
    (s.get(n..).unwrap_or(b""), n > 0)
}

/// Matches the message starting at `CriticalHandle`: (type name, handle value).
fn match_message(s: &[u8]) -> Option<(&[u8], u64)> {
    let mut rest = s.strip_prefix(ANCHOR)?;
    for word in [&b"of"[..], b"type"] {
        let (r, ws) = skip_ws(rest);
        if !ws {
            return None;
        }
        rest = r.strip_prefix(word)?;
    }
    let (r, _) = skip_ws(rest);
    let r = r.strip_prefix(b"'")?;
    let end = memchr::memchr(b'\'', r.get(..r.len().min(MAX_TYPE + 1))?)?;
    let ty = r.get(..end)?;
    if ty.is_empty() || ty.iter().any(|b| *b == b'\n' || *b == b'\r') {
        return None;
    }
    rest = r.get(end + 1..)?;
    for word in [
        &b"failed"[..],
        b"to",
        b"properly",
        b"release",
        b"the",
        b"handle",
        b"with",
        b"value",
    ] {
        let (r, ws) = skip_ws(rest);
        if !ws {
            return None;
        }
        rest = r.strip_prefix(word)?;
    }
    let (r, _) = skip_ws(rest);
    let r = r.strip_prefix(b"0x").or_else(|| r.strip_prefix(b"0X"))?;
    let (digits, _) = take_hex(r);
    if digits.len() > 16 {
        return None;
    }
    Some((ty, parse_hex(digits)?))
}

/// Reads every releaseHandleFailed message.
pub fn read(bytes: &[u8], path: &str, ctx: &mut ReadContext<'_>) -> Result<(), InputError> {
    if read_records(bytes, ctx) == 0 {
        return Err(InputError::new(path.to_string(), "no releaseHandleFailed MDA messages found").hint("expected .NET Framework MDA output: \"A SafeHandle or CriticalHandle of type '...' failed to properly \
                 release the handle with value 0x...\" (enable <releaseHandleFailed/> in the MDA config)",));
    }
    Ok(())
}

/// Like [`read`] but never fails; returns the number of messages found.
pub fn read_records(bytes: &[u8], ctx: &mut ReadContext<'_>) -> u64 {
    let (body, base) = strip_bom(bytes);
    let mut found = 0u64;
    let mut ids: Option<(u32, u32)> = None;
    for (line_no, offset, line) in Lines::new(body) {
        ctx.stats.units += 1;
        if let Some(p) = event_ids(line) {
            ids = Some(p);
        }
        let Some(at) = find(line, ANCHOR) else {
            continue;
        };
        // `line` may start after a Markdown quote marker: find it in `body` itself.
        let line_start = (line.as_ptr() as usize).saturating_sub(body.as_ptr() as usize);
        let Some(from) = body.get(line_start + at..) else {
            continue;
        };
        match match_message(from) {
            Some((ty, value)) => {
                let call = ctx.interner.intern("ReleaseHandle");
                let name = ctx.interner.intern("releaseHandleFailed");
                let origin = Origin::line(ctx.input, line_no, (base + offset) as u64);
                let mut ev = Event::new(Op::Close, call, origin);
                ev.handle = value as i64;
                ev.resource = Some(ctx.interner.intern_bytes(ty));
                ev.outcome = Outcome::Failed {
                    class: ErrorClass::Other,
                    name,
                };
                if let Some((pid, tid)) = ids {
                    ev.pid = pid;
                    ev.tid = tid;
                }
                ctx.stats.events += 1;
                ctx.sink.event(ev);
                found += 1;
            }
            None => {
                if find(line, b"CriticalHandle of type").is_some() {
                    ctx.stats.skip(
                        crate::formats::SkipReason::MdaIncomplete,
                        u64::from(line_no),
                    );
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::match_message;

    #[test]
    fn wrapped_message() {
        let m = b"CriticalHandle of type 'MyBrokenSafeHandle'   \nfailed to properly release the handle with value 0x0000BEEF. This";
        assert_eq!(match_message(m), Some((&b"MyBrokenSafeHandle"[..], 0xBEEF)));
        let quoted = b"CriticalHandle of type 'H' failed to properly\n> > release the handle with value 0x1C. This";
        assert_eq!(match_message(quoted), Some((&b"H"[..], 0x1C)));
        assert_eq!(
            match_message(b"CriticalHandle of type 'X' failed to properly release"),
            None
        );
        assert_eq!(
            match_message(
                b"CriticalHandle of type '' failed to properly release the handle with value 0x1"
            ),
            None
        );
    }
}
