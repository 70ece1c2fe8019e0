//! Application Verifier: XML logs (`appverif -export log`) and `VERIFIER STOP`
//! text from the debugger (see shared research windbg.md §2). Handles-layer
//! stops 0x300-0x305, the Leak layer's 0x901 (HANDLE) and 0x902 (HKEY), Networking 0xE101 and
//! the PrintAPI layer's handle stops (leaked, used after close, unknown, too many) become
//! events or notices.

pub(crate) mod frames;
mod stop;
mod text;
mod xml;

use super::htrace::text::{Lines, find, is_utf16, strip_bom, trim};
use super::{InputError, ReadContext};

fn is_xml(body: &[u8]) -> bool {
    let t = trim(body.get(..body.len().min(4096)).unwrap_or(body));
    t.starts_with(b"<?xml") && find(t, b"Application Verifier").is_some()
        || find(t, b":logfile").is_some() && find(t, b"Application Verifier").is_some()
}

/// True for verifier XML logs, or text with a `VERIFIER STOP` / `APPLICATION_VERIFIER_` line
/// that is not an `!htrace` dump (htrace wins for mixed sessions).
pub fn sniff(head: &[u8]) -> bool {
    let (head, _) = strip_bom(head);
    if is_xml(head) {
        return true;
    }
    if super::htrace::sniff(head) {
        return false;
    }
    Lines::new(head).any(|(_, _, l)| {
        let l = trim(l);
        l.starts_with(b"VERIFIER STOP ")
            || (l.starts_with(b"APPLICATION_VERIFIER_") && l.ends_with(b")"))
    })
}

/// Reads a verifier XML log or debugger text with verifier stops.
pub fn read(bytes: &[u8], path: &str, ctx: &mut ReadContext<'_>) -> Result<(), InputError> {
    if is_utf16(bytes) {
        return Err(InputError::new(path.to_string(), "the file is UTF-16 text").hint("export the log as UTF-8 XML (`appverif -export log ... -with To=FILE.xml`) or convert it"));
    }
    if read_records(bytes, ctx) == 0 {
        return Err(InputError::new(path.to_string(), "no Application Verifier stops found").hint("expected an `appverif -export log` XML file (<avrf:logEntry StopCode=...>) or debugger text with \
                 `VERIFIER STOP 00000300: pid 0x...` blocks; binary .dat logs must be exported first"
                    .to_string(),));
    }
    Ok(())
}

/// Like [`read`] but never fails: returns the number of stops found.
pub fn read_records(bytes: &[u8], ctx: &mut ReadContext<'_>) -> u64 {
    let (body, base) = strip_bom(bytes);
    if is_xml(body) {
        let text = String::from_utf8_lossy(body);
        xml::read(&text, base as u64, ctx)
    } else {
        text::read(body, base as u64, ctx)
    }
}
