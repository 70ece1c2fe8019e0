//! handlecheck's own JSON-lines event schema, version 1 (docs/jsonl-schema.md):
//! one object per line, for custom instrumentation and RPC context handles.

mod scalar;
mod status;
mod time;

use std::borrow::Cow;

use serde::Deserialize;

use crate::model::{ErrorClass, Event, Handle, Op, Origin, Outcome, ResourceKind, RpcOp, Sym};

use super::htrace::text::{Lines, strip_bom, trim};
use super::{InputError, ReadContext};
use scalar::Scalar;

/// String RPC context ids are interned and mapped to `RPC_STRING_CTX_BASE + id`.
pub const RPC_STRING_CTX_BASE: i64 = 1 << 48;

/// One line, borrowed from the input where no unescaping is needed.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    v: Option<Scalar<'a>>,
    #[serde(borrow)]
    ts: Option<Scalar<'a>>,
    #[serde(borrow)]
    pid: Option<Scalar<'a>>,
    #[serde(borrow)]
    tid: Option<Scalar<'a>>,
    #[serde(borrow)]
    op: Option<Cow<'a, str>>,
    #[serde(borrow)]
    handle: Option<Scalar<'a>>,
    #[serde(rename = "type", borrow)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow)]
    object: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    stack: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    status: Option<Scalar<'a>>,
    #[serde(borrow)]
    source_handle: Option<Scalar<'a>>,
    #[serde(borrow)]
    source_pid: Option<Scalar<'a>>,
    #[serde(borrow)]
    target_pid: Option<Scalar<'a>>,
    #[serde(borrow)]
    call: Option<Cow<'a, str>>,
    #[serde(borrow)]
    thread: Option<Scalar<'a>>,
    #[serde(borrow)]
    ctx: Option<Scalar<'a>>,
    #[serde(borrow)]
    side: Option<Cow<'a, str>>,
    cloexec: Option<bool>,
}

/// True when the first non-blank line is a JSON object with `"v"` and `"op"`.
pub fn sniff(head: &[u8]) -> bool {
    let (head, _) = strip_bom(head);
    let Some((_, _, first)) = Lines::new(head).find(|(_, _, l)| !trim(l).is_empty()) else {
        return false;
    };
    let first = trim(first);
    first.starts_with(b"{")
        && memchr::memmem::find(first, b"\"v\"").is_some()
        && memchr::memmem::find(first, b"\"op\"").is_some()
}

/// Reads JSON-lines events.
pub fn read(bytes: &[u8], path: &str, ctx: &mut ReadContext<'_>) -> Result<(), InputError> {
    let (body, base) = strip_bom(bytes);
    let mut reader = Reader {
        stack_buf: Vec::new(),
        last_ts: None,
        records: 0,
        version_skips: 0,
    };
    for (line_no, offset, raw) in Lines::new(body) {
        ctx.stats.units += 1;
        if trim(raw).is_empty() {
            continue;
        }
        let origin = Origin::line(ctx.input, line_no, (base + offset) as u64);
        if let Err(reason) = reader.line(raw, origin, ctx) {
            let reason = match reason {
                "unsupported schema version" => crate::formats::SkipReason::JsonlUnsupportedVersion,
                other => crate::formats::SkipReason::Jsonl(other),
            };
            ctx.stats.skip(reason, u64::from(line_no));
        }
    }
    if reader.records == 0 {
        let hint = if reader.version_skips > 0 {
            "this reader understands schema version 1 only (\"v\":1); see docs/jsonl-schema.md"
        } else {
            "expected one JSON object per line like {\"v\":1,\"ts\":0,\"pid\":1,\"tid\":1,\"op\":\"open\",\"handle\":4}; \
             see docs/jsonl-schema.md"
        };
        return Err(
            InputError::new(path.to_string(), "no handlecheck JSON-lines records found")
                .hint(hint.to_string()),
        );
    }
    Ok(())
}

struct Reader {
    stack_buf: Vec<Sym>,
    last_ts: Option<i64>,
    records: u64,
    version_skips: u64,
}

fn to_handle(s: &Scalar<'_>) -> Option<Handle> {
    let v = s.as_int()?;
    if v < i128::from(i64::MIN) || v > i128::from(u64::MAX) {
        return None;
    }
    // Values above i64::MAX wrap: 0xFFFFFFFFFFFFFFFF is INVALID_HANDLE_VALUE (-1).
    Some(if v > i128::from(i64::MAX) {
        (v as u64) as i64
    } else {
        v as i64
    })
}

fn to_u32(s: &Scalar<'_>) -> Option<u32> {
    u32::try_from(s.as_int()?).ok()
}

fn kind_of(ty: &str) -> ResourceKind {
    match ty {
        "file" => ResourceKind::File,
        "directory" | "dir" => ResourceKind::Directory,
        "device" | "chardev" => ResourceKind::CharDevice,
        "socket" => ResourceKind::Socket,
        "pipe" | "fifo" => ResourceKind::Pipe,
        "eventfd" => ResourceKind::EventFd,
        "timerfd" => ResourceKind::TimerFd,
        "signalfd" => ResourceKind::SignalFd,
        "epoll" => ResourceKind::Epoll,
        "inotify" => ResourceKind::Inotify,
        "pidfd" => ResourceKind::PidFd,
        "memfd" => ResourceKind::MemFd,
        _ => ResourceKind::from_windows_type(ty),
    }
}

impl Reader {
    fn line(
        &mut self,
        raw: &[u8],
        origin: Origin,
        ctx: &mut ReadContext<'_>,
    ) -> Result<(), &'static str> {
        let line: Line<'_> = serde_json::from_slice(raw).map_err(|_| "jsonl: malformed JSON")?;
        match line.v.as_ref().map(Scalar::as_int) {
            None => return Err("jsonl: missing \"v\""),
            Some(Some(1)) => {}
            Some(_) => {
                self.version_skips += 1;
                return Err("unsupported schema version");
            }
        }
        let op_name = line.op.as_deref().ok_or("jsonl: missing \"op\"")?;
        let pid = line
            .pid
            .as_ref()
            .and_then(to_u32)
            .ok_or("jsonl: missing or invalid \"pid\"")?;
        let tid = match &line.tid {
            Some(t) => to_u32(t).ok_or("jsonl: invalid \"tid\"")?,
            None => pid,
        };
        let time = match &line.ts {
            None => None,
            Some(Scalar::Int(n)) => Some(i64::try_from(*n).map_err(|_| "jsonl: invalid \"ts\"")?),
            Some(Scalar::Str(s)) => Some(
                time::parse_rfc3339(s)
                    .or_else(|| scalar::parse_int(s).and_then(|n| i64::try_from(n).ok()))
                    .ok_or("jsonl: invalid \"ts\"")?,
            ),
            Some(_) => return Err("jsonl: invalid \"ts\""),
        };
        let handle = || {
            line.handle
                .as_ref()
                .and_then(to_handle)
                .ok_or("jsonl: missing or invalid \"handle\"")
        };
        let interner = &mut *ctx.interner;
        let mut resource = None;
        let mut kind = ResourceKind::Unknown;
        let mut emit_pid = pid;
        let rpc = op_name.starts_with("rpc-");
        let (op, h, outcome) = match op_name {
            "open" => {
                kind = line.ty.as_deref().map(kind_of).unwrap_or_default();
                resource = line
                    .name
                    .as_deref()
                    .or(line.object.as_deref())
                    .map(|s| interner.intern(s));
                (
                    Op::Open {
                        cloexec: line.cloexec.unwrap_or(false),
                    },
                    handle()?,
                    Outcome::Ok,
                )
            }
            "close" => (Op::Close, handle()?, Outcome::Ok),
            "close-failed" => {
                let unknown = Outcome::Failed {
                    class: ErrorClass::Other,
                    name: interner.intern("close-failed"),
                };
                let out = status::outcome(line.status.as_ref(), false, unknown, interner)
                    .ok_or("jsonl: invalid \"status\"")?;
                let out = if out.is_ok() { unknown } else { out };
                (Op::Close, handle()?, out)
            }
            "dup" => {
                let source = line
                    .source_handle
                    .as_ref()
                    .and_then(to_handle)
                    .ok_or("jsonl: missing or invalid \"source_handle\"")?;
                let spid = match &line.source_pid {
                    Some(s) => to_u32(s).ok_or("jsonl: invalid \"source_pid\"")?,
                    None => pid,
                };
                emit_pid = match &line.target_pid {
                    Some(s) => to_u32(s).ok_or("jsonl: invalid \"target_pid\"")?,
                    None => pid,
                };
                let source_pid = (spid != emit_pid).then_some(spid);
                (
                    Op::Dup {
                        source,
                        cloexec: false,
                        replaces: false,
                        source_pid,
                    },
                    handle()?,
                    Outcome::Ok,
                )
            }
            "use" => {
                let out = status::outcome(line.status.as_ref(), false, Outcome::Unknown, interner)
                    .ok_or("jsonl: invalid \"status\"")?;
                (Op::Use, handle()?, out)
            }
            "thread-start" => {
                let child = line
                    .thread
                    .as_ref()
                    .and_then(to_u32)
                    .ok_or("jsonl: missing or invalid \"thread\"")?;
                (
                    Op::Spawn {
                        child,
                        shares_table: true,
                        thread: true,
                    },
                    -1,
                    Outcome::Ok,
                )
            }
            "thread-exit" => (Op::TaskExit, -1, Outcome::Ok),
            "process-exit" => (Op::ProcessExit, -1, Outcome::Ok),
            "gc-start" => (Op::GcStart, -1, Outcome::Ok),
            "gc-end" => (Op::GcEnd, -1, Outcome::Ok),
            "rpc-ctx-create"
            | "rpc-ctx-close"
            | "rpc-ctx-rundown"
            | "rpc-call"
            | "rpc-destroy-client-context" => {
                let id = match line.ctx.as_ref().ok_or("jsonl: missing \"ctx\"")? {
                    Scalar::Str(s) if scalar::parse_int(s).is_none() => {
                        let sym = interner.intern(s);
                        resource = Some(sym);
                        RPC_STRING_CTX_BASE + i64::from(sym.0)
                    }
                    other => to_handle(other).ok_or("jsonl: invalid \"ctx\"")?,
                };
                let server = match line.side.as_deref() {
                    Some("server") => Some(true),
                    Some("client") => Some(false),
                    Some(_) => return Err("jsonl: invalid \"side\" (client|server)"),
                    None => None,
                };
                let need_side = || server.ok_or("jsonl: missing \"side\"");
                let rpc_op = match op_name {
                    "rpc-ctx-create" => RpcOp::Create {
                        server: need_side()?,
                    },
                    "rpc-ctx-close" => RpcOp::Close {
                        server: need_side()?,
                    },
                    "rpc-ctx-rundown" => RpcOp::Rundown,
                    "rpc-call" => RpcOp::Call {
                        server: need_side()?,
                    },
                    _ => RpcOp::DestroyClientContext,
                };
                let out = status::outcome(line.status.as_ref(), rpc, Outcome::Ok, interner)
                    .ok_or("jsonl: invalid \"status\"")?;
                (Op::Rpc(rpc_op), id, out)
            }
            _ => return Err("jsonl: unknown \"op\""),
        };
        let call = interner.intern(line.call.as_deref().unwrap_or(op_name));
        let mut ev = Event::new(op, call, origin);
        ev.time = time;
        ev.pid = emit_pid;
        ev.tid = tid;
        ev.handle = h;
        ev.kind = kind;
        ev.outcome = outcome;
        ev.resource = resource;
        if let Some(frames) = &line.stack
            && !frames.is_empty()
        {
            self.stack_buf.clear();
            for f in frames {
                self.stack_buf.push(interner.intern(f));
            }
            ev.stack = Some(interner.intern_stack(&self.stack_buf));
        }
        if let (Some(t), Some(last)) = (time, self.last_ts)
            && t < last
        {
            ctx.stats
                .bump("jsonl: ts went backwards (lines are used in file order)", 1);
        }
        if time.is_some() {
            self.last_ts = time;
        }
        self.records += 1;
        ctx.stats.events += 1;
        ctx.sink.event(ev);
        Ok(())
    }
}
