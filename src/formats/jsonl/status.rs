//! `status` values (numbers or symbolic names) to outcomes; the table is
//! documented in docs/jsonl-schema.md.

use crate::model::{ErrorClass, Interner, Outcome};

use super::scalar::Scalar;

/// Classifies a symbolic error name.
fn class_of_name(name: &str) -> ErrorClass {
    match name {
        "EBADF" | "ERROR_INVALID_HANDLE" | "STATUS_INVALID_HANDLE" => ErrorClass::BadHandle,
        "EMFILE" | "ENFILE" | "ERROR_TOO_MANY_OPEN_FILES" | "STATUS_TOO_MANY_OPENED_FILES" => {
            ErrorClass::TableFull
        }
        "EINTR" | "ERESTARTSYS" | "ERESTARTNOINTR" | "ERESTARTNOHAND" | "ERESTART_RESTARTBLOCK" => {
            ErrorClass::Interrupted
        }
        "ENOTSOCK"
        | "ENOTDIR"
        | "ESPIPE"
        | "STATUS_OBJECT_TYPE_MISMATCH"
        | "ERROR_INVALID_FUNCTION" => ErrorClass::WrongType,
        "RPC_X_SS_CONTEXT_MISMATCH" | "RPC_NT_SS_CONTEXT_MISMATCH" => ErrorClass::ContextMismatch,
        _ => ErrorClass::Other,
    }
}

/// Known numeric codes: (value, name). Numbers are not ambiguous here only
/// because the schema says so (see the doc): 9 is EBADF, 6 ERROR_INVALID_HANDLE.
fn name_of_number(n: i128) -> Option<&'static str> {
    Some(match n {
        6 => "ERROR_INVALID_HANDLE",
        9 => "EBADF",
        0xC000_0008 => "STATUS_INVALID_HANDLE",
        0xC000_0024 => "STATUS_OBJECT_TYPE_MISMATCH",
        24 => "EMFILE",
        23 => "ENFILE",
        4 => "EINTR",
        _ => return None,
    })
}

const SUCCESS_NAMES: [&str; 5] = [
    "OK",
    "SUCCESS",
    "ERROR_SUCCESS",
    "STATUS_SUCCESS",
    "RPC_S_OK",
];

/// Outcome of a `status` field. `None` (absent) is `absent`.
pub(crate) fn outcome(
    status: Option<&Scalar<'_>>,
    rpc: bool,
    absent: Outcome,
    interner: &mut Interner,
) -> Option<Outcome> {
    let Some(status) = status else {
        return Some(absent);
    };
    let number = status.as_int();
    let text = match status {
        Scalar::Str(s) => Some(s.trim()),
        _ => None,
    };
    if number == Some(0) || text.is_some_and(|t| SUCCESS_NAMES.contains(&t)) {
        return Some(Outcome::Ok);
    }
    // A negative number is a raw syscall return: -errno.
    let number = number.map(|n| if n < 0 { -n } else { n });
    if rpc {
        let mismatch = matches!(number, Some(6 | 0xC003_0005 | 0x1C00_001A))
            || matches!(
                text,
                Some(
                    "RPC_X_SS_CONTEXT_MISMATCH"
                        | "RPC_NT_SS_CONTEXT_MISMATCH"
                        | "ERROR_INVALID_HANDLE"
                )
            );
        if mismatch {
            let name = interner.intern("RPC_X_SS_CONTEXT_MISMATCH");
            return Some(Outcome::Failed {
                class: ErrorClass::ContextMismatch,
                name,
            });
        }
    }
    let (class, name) = match (number, text) {
        (Some(n), _) => match name_of_number(n) {
            Some(name) => (class_of_name(name), interner.intern(name)),
            None if n >= 0x8000_0000 => (ErrorClass::Other, interner.intern(&format!("0x{n:X}"))),
            None => (ErrorClass::Other, interner.intern(&n.to_string())),
        },
        (None, Some(t)) if !t.is_empty() => (class_of_name(t), interner.intern(t)),
        _ => return None,
    };
    Some(Outcome::Failed { class, name })
}
