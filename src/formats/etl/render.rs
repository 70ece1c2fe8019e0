//! One readable line per ETW event: the "trace line" of binary evidence.

use std::fmt::Write;

use crate::model::{Event, Interner, Op, ResourceKind};

/// `2020-07-29T00:07:00.651234500Z pid 3988 tid 3780 Object/CreateHandle handle 0x3a78 Event "\BaseNamedObjects\x" [record 42 @0x1f400]`
pub fn render_event(ev: &Event, interner: &Interner) -> String {
    let mut s = String::with_capacity(120);
    match ev.time {
        Some(t) => s.push_str(&format_time(t)),
        None => s.push('-'),
    }
    let _ = write!(
        s,
        " pid {} tid {} {}",
        ev.pid,
        ev.tid,
        interner.resolve(ev.call)
    );
    match ev.op {
        Op::Open { .. } | Op::Close | Op::Use | Op::Probe => {
            let _ = write!(s, " handle 0x{:x}", ev.handle);
        }
        Op::Dup {
            source, source_pid, ..
        } => {
            let _ = write!(s, " handle 0x{:x} from 0x{:x}", ev.handle, source);
            if let Some(p) = source_pid {
                let _ = write!(s, " (pid {p})");
            }
        }
        Op::Spawn { child, .. } => {
            let _ = write!(s, " new thread {child}");
        }
        _ => {}
    }
    if ev.kind != ResourceKind::Unknown {
        let _ = write!(s, " {}", ev.kind.as_str());
    }
    if let Some(r) = ev.resource {
        let _ = write!(s, " \"{}\"", interner.resolve(r).escape_debug());
    }
    if ev.flags & crate::model::flags::RUNDOWN != 0 {
        s.push_str(" (rundown)");
    }
    let _ = write!(
        s,
        " [record {} @0x{:x}]",
        ev.origin.record, ev.origin.offset
    );
    s
}

/// RFC 3339 UTC with nanoseconds from ns since the Unix epoch.
pub fn format_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            format_time(1_596_000_000_123_456_789),
            "2020-07-29T05:20:00.123456789Z"
        );
        assert_eq!(
            format_time(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000000Z"
        );
    }
}
