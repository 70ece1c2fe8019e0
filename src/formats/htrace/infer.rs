//! Object type and API name from a stack: `!htrace` does not print the object
//! type, so it is inferred from the innermost API frame (NtCreateEvent → Event).

use crate::model::ResourceKind;

use super::text::frame_parts;

/// What a frame's function tells about the handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ApiRole {
    /// Creates or opens an object of this kind.
    Create(ResourceKind),
    /// Duplicates a handle (type = the source's, unknown here).
    Duplicate,
    /// Closes a handle.
    Close,
    /// Operates on an object of this kind (type evidence for a use).
    Use(ResourceKind),
}

/// The API frame of a stack: its function name (as printed) and role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Api<'a> {
    pub name: &'a str,
    pub role: Option<ApiRole>,
}

/// Modules of Application Verifier that wrap the real API (skipped).
pub(crate) fn is_verifier_module(module: &str) -> bool {
    let m = module.to_ascii_lowercase();
    m == "vfbasics"
        || m == "verifier"
        || m == "vrfcore"
        || m.starts_with("vfcompat")
        || m == "vfnet"
        || m == "vfprint"
}

/// Native API core names (after the `Nt`/`Zw` prefix).
fn native(core: &str) -> Option<ApiRole> {
    use ApiRole::*;
    use ResourceKind as K;
    Some(match core {
        "CreateEvent" | "OpenEvent" => Create(K::Event),
        "CreateFile" | "OpenFile" | "CreateNamedPipeFile" | "CreateMailslotFile" => Create(K::File),
        "CreateMutant" | "OpenMutant" => Create(K::Mutant),
        "CreateSemaphore" | "OpenSemaphore" => Create(K::Semaphore),
        "CreateKey"
        | "CreateKeyTransacted"
        | "OpenKey"
        | "OpenKeyEx"
        | "OpenKeyTransacted"
        | "OpenKeyTransactedEx" => Create(K::Key),
        "CreateSection" | "CreateSectionEx" | "OpenSection" => Create(K::Section),
        "OpenProcess" | "CreateProcess" | "CreateProcessEx" | "CreateUserProcess" => {
            Create(K::Process)
        }
        "CreateThread" | "CreateThreadEx" | "OpenThread" => Create(K::Thread),
        "OpenProcessToken" | "OpenProcessTokenEx" | "OpenThreadToken" | "OpenThreadTokenEx"
        | "DuplicateToken" | "CreateToken" | "CreateTokenEx" | "CreateLowBoxToken"
        | "FilterToken" => Create(K::Token),
        "CreateIoCompletion" | "OpenIoCompletion" => Create(K::IoCompletion),
        "CreateWaitCompletionPacket" => Create(K::WaitCompletionPacket),
        "CreateWorkerFactory" => Create(K::TpWorkerFactory),
        "CreateDirectoryObject" | "CreateDirectoryObjectEx" | "OpenDirectoryObject" => {
            Create(K::Directory)
        }
        "CreateTimer"
        | "CreateTimer2"
        | "OpenTimer"
        | "CreateIRTimer"
        | "CreateKeyedEvent"
        | "OpenKeyedEvent"
        | "CreateJobObject"
        | "OpenJobObject"
        | "CreateSymbolicLinkObject"
        | "OpenSymbolicLinkObject"
        | "AlpcConnectPort"
        | "AlpcConnectPortEx"
        | "AlpcCreatePort"
        | "AlpcAcceptConnectPort"
        | "CreatePort"
        | "ConnectPort"
        | "SecureConnectPort"
        | "CreateDebugObject"
        | "CreateTransaction"
        | "OpenTransaction"
        | "CreateEnlistment"
        | "CreateResourceManager"
        | "CreateTransactionManager"
        | "CreatePartition"
        | "OpenPartition"
        | "CreateProfile"
        | "CreateEventPair"
        | "OpenEventPair" => Create(K::OtherWindows),
        "DuplicateObject" => Duplicate,
        "Close" => Close,
        "SetEvent"
        | "ResetEvent"
        | "PulseEvent"
        | "ClearEvent"
        | "QueryEvent"
        | "SetEventBoostPriority" => Use(K::Event),
        "ReleaseMutant" | "QueryMutant" => Use(K::Mutant),
        "ReleaseSemaphore" | "QuerySemaphore" => Use(K::Semaphore),
        "ReadFile"
        | "WriteFile"
        | "DeviceIoControlFile"
        | "FsControlFile"
        | "QueryInformationFile"
        | "SetInformationFile"
        | "FlushBuffersFile"
        | "LockFile"
        | "UnlockFile"
        | "QueryDirectoryFile"
        | "QueryVolumeInformationFile"
        | "CancelIoFile"
        | "CancelIoFileEx" => Use(K::File),
        "QueryValueKey" | "SetValueKey" | "EnumerateKey" | "EnumerateValueKey" | "DeleteKey"
        | "DeleteValueKey" | "QueryKey" | "FlushKey" | "NotifyChangeKey" => Use(K::Key),
        "MapViewOfSection" | "MapViewOfSectionEx" | "QuerySection" | "ExtendSection" => {
            Use(K::Section)
        }
        "ResumeThread"
        | "SuspendThread"
        | "TerminateThread"
        | "QueryInformationThread"
        | "SetInformationThread"
        | "GetContextThread"
        | "SetContextThread"
        | "QueueApcThread"
        | "QueueApcThreadEx" => Use(K::Thread),
        "TerminateProcess"
        | "QueryInformationProcess"
        | "SetInformationProcess"
        | "SuspendProcess"
        | "ResumeProcess" => Use(K::Process),
        "QueryInformationToken" | "SetInformationToken" | "AdjustPrivilegesToken" => Use(K::Token),
        "SetIoCompletion" | "RemoveIoCompletion" | "RemoveIoCompletionEx" => Use(K::IoCompletion),
        _ => return None,
    })
}

/// Win32 names (after stripping `Stub` and a trailing `A`/`W`).
fn win32(core: &str) -> Option<ApiRole> {
    use ApiRole::*;
    use ResourceKind as K;
    Some(match core {
        "CreateEvent" | "CreateEventEx" | "OpenEvent" => Create(K::Event),
        "CreateFile" | "CreateFile2" | "CreateFileInternal" | "CreateNamedPipe"
        | "CreateMailslot" => Create(K::File),
        "CreateMutex" | "CreateMutexEx" | "OpenMutex" => Create(K::Mutant),
        "CreateSemaphore" | "CreateSemaphoreEx" | "OpenSemaphore" => Create(K::Semaphore),
        "RegOpenKey"
        | "RegOpenKeyEx"
        | "RegCreateKey"
        | "RegCreateKeyEx"
        | "RegOpenKeyExInternal"
        | "RegCreateKeyExInternal"
        | "RegOpenCurrentUser" => Create(K::Key),
        "CreateFileMapping" | "CreateFileMappingNuma" | "OpenFileMapping" => Create(K::Section),
        "OpenProcess" | "CreateProcess" | "CreateProcessInternal" | "CreateProcessAsUser" => {
            Create(K::Process)
        }
        "CreateThread"
        | "CreateRemoteThread"
        | "CreateRemoteThreadEx"
        | "OpenThread"
        | "_beginthreadex" => Create(K::Thread),
        "OpenProcessToken" | "OpenThreadToken" | "DuplicateTokenEx" => Create(K::Token),
        "CreateIoCompletionPort" => Create(K::IoCompletion),
        "WSASocket" | "socket" | "accept" | "WSAAccept" => Create(K::Socket),
        "DuplicateHandle" => Duplicate,
        "CloseHandle" | "RegCloseKey" | "closesocket" | "FindClose" => Close,
        "SetEvent" | "ResetEvent" | "PulseEvent" => Use(K::Event),
        "ReleaseMutex" => Use(K::Mutant),
        "ReleaseSemaphore" => Use(K::Semaphore),
        "ReadFile" | "WriteFile" | "DeviceIoControl" | "GetFileSize" | "GetFileSizeEx"
        | "SetFilePointer" | "SetFilePointerEx" | "FlushFileBuffers" | "GetFileType" => {
            Use(K::File)
        }
        "RegQueryValueEx" | "RegSetValueEx" | "RegEnumKeyEx" | "RegEnumValue" => Use(K::Key),
        "MapViewOfFile" | "MapViewOfFileEx" => Use(K::Section),
        "ResumeThread" | "SuspendThread" | "TerminateThread" | "GetThreadId" => Use(K::Thread),
        "TerminateProcess" | "GetProcessId" => Use(K::Process),
        _ => return None,
    })
}

/// Role of one function name (`NtCreateEvent`, `ZwClose`, `CreateEventExW`, `CreateFileWStub`).
pub(crate) fn role_of(func: &str) -> Option<ApiRole> {
    if let Some(core) = func.strip_prefix("Nt").or_else(|| func.strip_prefix("Zw"))
        && core.starts_with(|c: char| c.is_ascii_uppercase())
        && let Some(r) = native(core)
    {
        return Some(r);
    }
    let core = func.strip_suffix("Stub").unwrap_or(func);
    let bytes = core.as_bytes();
    let core = match bytes {
        [.., prev, b'A' | b'W']
            if prev.is_ascii_lowercase() || *prev == b'x' || prev.is_ascii_digit() =>
        {
            core.get(..core.len() - 1).unwrap_or(core)
        }
        _ => core,
    };
    win32(core)
}

/// True for `Nt*`/`Zw*` system-service names.
fn is_native_name(func: &str) -> bool {
    match func.strip_prefix("Nt").or_else(|| func.strip_prefix("Zw")) {
        Some(core) => core.starts_with(|c: char| c.is_ascii_uppercase()),
        None => false,
    }
}

/// The innermost API frame of `frames` (innermost first): skips unresolved
/// frames and verifier wrappers; stops at the first `Nt*`/`Zw*` service or at
/// the first function with a known role.
pub(crate) fn innermost_api<'a>(frames: impl IntoIterator<Item = &'a str>) -> Option<Api<'a>> {
    for frame in frames {
        let Some((module, func)) = frame_parts(frame) else {
            continue;
        };
        if is_verifier_module(module) {
            continue;
        }
        let role = role_of(func);
        if role.is_some() || is_native_name(func) {
            return Some(Api { name: func, role });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert_eq!(
            role_of("ZwCreateEvent"),
            Some(ApiRole::Create(ResourceKind::Event))
        );
        assert_eq!(
            role_of("CreateEventExW"),
            Some(ApiRole::Create(ResourceKind::Event))
        );
        assert_eq!(
            role_of("CreateFileWStub"),
            Some(ApiRole::Create(ResourceKind::File))
        );
        assert_eq!(role_of("NtClose"), Some(ApiRole::Close));
        assert_eq!(
            role_of("OpenThread"),
            Some(ApiRole::Create(ResourceKind::Thread))
        );
        assert_eq!(role_of("NtdllDefWindowProc_W"), None);
    }

    #[test]
    fn innermost_skips_wrappers_and_kernel_helpers() {
        let frames = [
            "+0x4aa4fe76",
            "vfbasics!AVrfpNtCreateFile+0x97",
            "ntdll!NtCreateFile+0xc",
        ];
        let api = innermost_api(frames).unwrap();
        assert_eq!(api.name, "NtCreateFile");
        let kernel = [
            "ntoskrnl!ExCreateHandle+0x94",
            "ntoskrnl!ObInsertObject+0xc3",
            "KERNEL32!CreateEventA+0x66",
        ];
        let api = innermost_api(kernel).unwrap();
        assert_eq!(
            (api.name, api.role),
            ("CreateEventA", Some(ApiRole::Create(ResourceKind::Event)))
        );
        let badref = [
            "ntoskrnl!ExMapHandleToPointerEx+0xea",
            "ntoskrnl!NtSetEvent+0x6c",
        ];
        assert_eq!(
            innermost_api(badref).unwrap().role,
            Some(ApiRole::Use(ResourceKind::Event))
        );
    }
}
