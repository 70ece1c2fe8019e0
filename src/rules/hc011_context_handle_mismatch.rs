use std::collections::BTreeMap;

use crate::model::{Confidence, ErrorClass, Event, Level, Op, Outcome, Role, RpcOp};

use super::evidence::label;
use super::{Findings, RuleContext, declare_rule};

declare_rule! {
    /// ## What it finds
    /// RPC context-handle misuse: a call with a context handle after the server
    /// closed it or ran it down (the call fails with RPC_X_SS_CONTEXT_MISMATCH,
    /// status 6); a client close that failed and was not followed by
    /// `RpcSsDestroyClientContext`; a server that created a context for a call
    /// that then failed, with no rundown seen.
    ///
    /// ## Why it matters
    /// A client holding a dead context handle fails every later call; a failed
    /// close without RpcSsDestroyClientContext leaves the client's side allocated
    /// and a reference on the binding's connection; a context created for a
    /// failed call leaks server state until the connection drops.
    ///
    /// ## Example
    /// ```text
    /// {"v":1,"op":"rpc-ctx-rundown","ctx":"c1","side":"server",...}
    /// {"v":1,"op":"rpc-call","ctx":"c1","side":"client","status":6,...}
    /// ```
    ///
    /// ## How to fix
    /// Treat status 6 as "context gone": stop using the handle and call
    /// `RpcSsDestroyClientContext` on it; after a failed close, always call
    /// `RpcSsDestroyClientContext`; in the server, free the context when the call
    /// that created it fails (or rely on a rundown routine that does).
    pub struct ContextHandleMismatch {
        code: "HC011",
        name: "context-handle-mismatch",
        level: Level::Error,
        summary: "an RPC context handle used after close or rundown, or not destroyed",
    }
}

#[derive(Default)]
struct CtxState {
    created: Option<Event>,
    server_gone: Option<Event>,
    failed_client_close: Option<Event>,
    destroyed: bool,
    failed_create_call: Option<Event>,
    rundown: bool,
}

impl ContextHandleMismatch {
    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        let mut ctxs: BTreeMap<i64, CtxState> = BTreeMap::new();
        for ev in &cx.graph.rpc_events {
            let Op::Rpc(op) = ev.op else { continue };
            let st = ctxs.entry(ev.handle).or_default();
            match op {
                RpcOp::Create { .. } => {
                    st.created = Some(*ev);
                    st.server_gone = None;
                }
                RpcOp::Close { server: true } | RpcOp::Rundown => {
                    st.server_gone = Some(*ev);
                    if op == RpcOp::Rundown {
                        st.rundown = true;
                    }
                }
                RpcOp::Close { server: false } => {
                    if !ev.outcome.is_ok() {
                        st.failed_client_close = Some(*ev);
                    }
                }
                RpcOp::DestroyClientContext => st.destroyed = true,
                RpcOp::Call { server } => {
                    let mismatch = ev.outcome.failed_class() == Some(ErrorClass::ContextMismatch);
                    if let Some(gone) = st.server_gone.filter(|_| !server || mismatch) {
                        let mut f = cx.finding(
                            &META,
                            Level::Error,
                            format!(
                                "RPC context handle {} used after the server {} it",
                                ev.handle,
                                if gone.op == Op::Rpc(RpcOp::Rundown) {
                                    "ran it down"
                                } else {
                                    "closed"
                                }
                            ),
                        );
                        f.confidence = Confidence::High;
                        f.pid = ev.pid;
                        if let Some(c) = st.created {
                            f.labels.push(label(&c, Role::Open, "context created here"));
                        }
                        f.labels
                            .push(label(&gone, Role::Release, "server side gone here"));
                        f.labels.push(label(
                            ev,
                            Role::BadUse,
                            if mismatch {
                                "call fails with RPC_X_SS_CONTEXT_MISMATCH (6)"
                            } else {
                                "call on the dead context"
                            },
                        ));
                        f.site = format!("rpc|call-after-close|{}", cx.call(ev));
                        out.push(f);
                    } else if mismatch {
                        let mut f = cx.finding(&META, Level::Error, format!("RPC call on context handle {} fails with RPC_X_SS_CONTEXT_MISMATCH (6)", ev.handle));
                        f.confidence = Confidence::Medium;
                        f.pid = ev.pid;
                        f.labels.push(label(
                            ev,
                            Role::BadUse,
                            "the server no longer knows this context",
                        ));
                        f.notes.push(
                            "the trace does not show when the server dropped the context"
                                .to_string()
                                .into(),
                        );
                        f.site = format!("rpc|mismatch|{}", cx.call(ev));
                        out.push(f);
                    }
                    if server
                        && !ev.outcome.is_ok()
                        && st.created.is_some_and(|c| c.seq < ev.seq)
                        && !mismatch
                    {
                        st.failed_create_call = Some(*ev);
                    }
                }
            }
        }
        for (ctx, st) in &ctxs {
            if let (Some(close), false) = (st.failed_client_close, st.destroyed) {
                let mut f = cx.finding(&META, Level::Warning, format!("client close of RPC context handle {ctx} failed and RpcSsDestroyClientContext was never called"));
                f.confidence = Confidence::High;
                f.pid = close.pid;
                if let Some(c) = st.created {
                    f.labels.push(label(&c, Role::Open, "context created here"));
                }
                let status = match close.outcome {
                    Outcome::Failed { name, .. } => cx.text(name),
                    _ => String::new(),
                };
                f.labels.push(label(
                    &close,
                    Role::BadRelease,
                    format!("close fails {status}"),
                ));
                f.notes.push(
                    "the client keeps its side of the context and a reference on the connection"
                        .to_string()
                        .into(),
                );
                f.site = "rpc|failed-close-not-destroyed".to_string();
                out.push(f);
            }
            if let (Some(call), false) = (st.failed_create_call, st.rundown) {
                let mut f = cx.finding(&META, Level::Warning, format!("server created RPC context handle {ctx} for a call that failed, and no rundown was seen"));
                f.confidence = Confidence::Medium;
                f.pid = call.pid;
                if let Some(c) = st.created {
                    f.labels.push(label(&c, Role::Open, "context created here"));
                }
                f.labels.push(label(&call, Role::Failure, "the call fails"));
                f.site = "rpc|failed-call-context-leak".to_string();
                out.push(f);
            }
        }
    }
}
