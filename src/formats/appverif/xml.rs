//! `appverif -export log` XML. Each `<avrf:logEntry>` is parsed on its own so a
//! truncated or damaged entry costs only itself.

use crate::formats::ReadContext;
use crate::formats::htrace::text::{find, parse_hex, trim};

use super::frames::xml_trace;
use super::stop::{Stop, emit};

const NS: &str = "Application Verifier";

/// The namespace prefix bound to "Application Verifier" (default `avrf`).
fn prefix(text: &str) -> &str {
    let Some(at) = text.find("=\"Application Verifier\"") else {
        return "avrf";
    };
    let before = text.get(..at).unwrap_or("");
    match before.rfind("xmlns:") {
        Some(i) => before
            .get(i + 6..)
            .filter(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
            .unwrap_or("avrf"),
        None => "avrf",
    }
}

/// Hex value before " - " in a parameter (`c0000008 - Exception code.`).
fn param_value(text: &str) -> Option<u64> {
    let t = text.trim();
    let v = t.split(" - ").next().unwrap_or(t).trim();
    let v = v
        .strip_prefix("0x")
        .or_else(|| v.strip_prefix("0X"))
        .unwrap_or(v);
    if v.is_empty() || v.len() > 16 {
        return None;
    }
    parse_hex(v.as_bytes())
}

fn attr_hex(v: &str) -> Option<u64> {
    let v = v.trim();
    let v = v
        .strip_prefix("0x")
        .or_else(|| v.strip_prefix("0X"))
        .unwrap_or(v);
    if v.is_empty() || v.len() > 16 {
        return None;
    }
    parse_hex(v.as_bytes())
}

/// The next occurrence of a needle at or after a position that only moves
/// forward: each search result is kept until the position passes it, so a
/// log of n entries (or n unclosed ones) costs O(n) searching, not O(n²).
struct Forward<'a> {
    hay: &'a [u8],
    needle: &'a [u8],
    /// None: not searched yet; Some(None): no occurrence left.
    cached: Option<Option<usize>>,
}

impl<'a> Forward<'a> {
    fn new(hay: &'a [u8], needle: &'a [u8]) -> Forward<'a> {
        Forward {
            hay,
            needle,
            cached: None,
        }
    }

    fn next(&mut self, from: usize) -> Option<usize> {
        match self.cached {
            Some(None) => return None,
            Some(Some(at)) if at >= from => return Some(at),
            _ => {}
        }
        let found = self
            .hay
            .get(from..)
            .and_then(|r| find(r, self.needle))
            .map(|i| from + i);
        self.cached = Some(found);
        found
    }
}

/// Returns the number of entries emitted or counted.
pub(crate) fn read(text: &str, base: u64, ctx: &mut ReadContext<'_>) -> u64 {
    let p = prefix(text);
    let open_entry = format!("<{p}:logEntry");
    let close_entry = format!("</{p}:logEntry>");
    let open_session = format!("<{p}:logSession");
    let bytes = text.as_bytes();
    let mut found = 0u64;
    let mut line = 1u32;
    let mut counted_to = 0usize;
    let mut pid = 0u32;
    let mut pos = 0usize;
    let mut buf = String::new();
    let mut entries = Forward::new(bytes, open_entry.as_bytes());
    let mut sessions = Forward::new(bytes, open_session.as_bytes());
    let mut closes = Forward::new(bytes, close_entry.as_bytes());
    loop {
        let next_entry = entries.next(pos);
        let next_session = sessions.next(pos);
        let Some(start) = next_entry else { break };
        if let Some(s) = next_session.filter(|s| *s < start) {
            // The tag ends before the entry that follows it (bounded search).
            if let Some(tag_end) = bytes
                .get(s..start)
                .and_then(|r| memchr::memchr(b'>', r))
                .map(|i| s + i)
            {
                let tag = text.get(s..tag_end).unwrap_or("");
                let tag = tag.trim_end_matches('/');
                let doc = format!("<r xmlns:{p}=\"{NS}\">{tag}/></r>");
                if let Ok(d) = roxmltree::Document::parse(&doc)
                    && let Some(n) = d.root_element().first_element_child()
                {
                    pid = n
                        .attribute("PID")
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                }
            }
            pos = s + open_session.len();
            continue;
        }
        line = line.saturating_add(
            memchr::memchr_iter(b'\n', bytes.get(counted_to..start).unwrap_or(b"")).count() as u32,
        );
        counted_to = start;
        ctx.stats.units += 1;
        let after = start + open_entry.len();
        let end = closes.next(after).map(|i| i + close_entry.len());
        let next_open = entries.next(after);
        let end = match (end, next_open) {
            (Some(e), Some(n)) if n < e => None,
            (e, _) => e,
        };
        let Some(end) = end else {
            ctx.stats.skip(
                crate::formats::SkipReason::AppverifTruncatedEntry,
                u64::from(line),
            );
            pos = after;
            continue;
        };
        pos = end;
        let chunk = text.get(start..end).unwrap_or("");
        let doc_text = format!("<r xmlns:{p}=\"{NS}\">{chunk}</r>");
        let Ok(doc) = roxmltree::Document::parse(&doc_text) else {
            ctx.stats.skip(
                crate::formats::SkipReason::AppverifMalformedEntry,
                u64::from(line),
            );
            continue;
        };
        let Some(entry) = doc.root_element().first_element_child() else {
            continue;
        };
        let Some(code) = entry
            .attribute("StopCode")
            .and_then(attr_hex)
            .and_then(|c| u32::try_from(c).ok())
        else {
            ctx.stats.skip(
                crate::formats::SkipReason::AppverifNoStopCode,
                u64::from(line),
            );
            continue;
        };
        let mut stop = Stop {
            code,
            pid,
            line,
            offset: base + start as u64,
            ..Stop::default()
        };
        for child in entry.children().filter(|n| n.is_element()) {
            let name = child.tag_name().name();
            if let Some(i) = name
                .strip_prefix("parameter")
                .and_then(|d| d.parse::<usize>().ok())
            {
                if let Some(slot) = i.checked_sub(1).and_then(|i| stop.params.get_mut(i)) {
                    *slot = child.text().and_then(param_value);
                }
            } else if name == "stackTrace" {
                for t in child
                    .children()
                    .filter(|n| n.is_element() && n.tag_name().name() == "trace")
                {
                    let Some(txt) = t.text() else { continue };
                    if trim(txt.as_bytes()).is_empty() {
                        continue;
                    }
                    xml_trace(txt, &mut buf);
                    stop.frames.push(ctx.interner.intern(&buf));
                }
            }
        }
        if let Some(layer) = entry.attribute("LayerName") {
            ctx.stats
                .bump(&format!("appverif: {layer} layer entries"), 1);
        }
        emit(&stop, ctx);
        found += 1;
    }
    found
}
