//! The data model shared by every reader, the lifecycle builder, rules and reporters.

pub mod event;
pub mod finding;
pub mod intern;
pub mod origin;
pub mod sanitize;
pub mod site;

pub use event::{
    ErrorClass, Event, Handle, HandleStyle, Nanos, Op, Outcome, ResourceKind, RpcOp,
    UNKNOWN_HANDLE, flags,
};
pub use finding::{Confidence, Finding, Label, Level, Role, Text};
pub use intern::{Interner, StackId, Sym};
pub use origin::{InputId, Origin};
