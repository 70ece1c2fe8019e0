//! Event names as PerfView spells them (`Process/DCStart`, `Image/Load`,
//! `StackWalk/Stack`); unknown events as `{group-or-guid}/{opcode}`.

use super::headers::EventKey;
use super::kernel::{CLR_PROVIDER, SYSCONFIG_EX, kernel_key};

/// Kernel group names (EVENT_TRACE_GROUP_* >> 8), PerfView task names.
fn group_name(group: u8) -> Option<&'static str> {
    Some(match group {
        0x00 => "EventTrace",
        0x01 => "DiskIO",
        0x02 => "PageFault",
        0x03 => "Process",
        0x04 => "FileIO",
        0x05 => "Thread",
        0x06 => "TcpIp",
        0x08 => "UdpIp",
        0x09 => "Registry",
        0x0B => "SysConfig",
        0x0F => "PerfInfo",
        0x11 => "Object",
        0x14 => "Image",
        0x18 => "StackWalk",
        0x1C => "ThreadPool",
        _ => return None,
    })
}

/// Opcode names for the groups handlecheck decodes.
fn kernel_opcode_name(group: u8, ty: u8) -> Option<&'static str> {
    Some(match (group, ty) {
        (0x00, 0) => "Header",
        (0x00, 5) => "Extension",
        (0x00, 8) => "RundownComplete",
        (0x00, 32) => "EndExtension",
        (0x03 | 0x05, 1) => "Start",
        (0x03 | 0x05, 2) => "Stop",
        (0x03 | 0x05, 3) => "DCStart",
        (0x03 | 0x05, 4) => "DCStop",
        (0x03, 11) => "Terminate",
        (0x03, 32) => "PerfCtr",
        (0x03, 33) => "PerfCtrRundown",
        (0x03, 39) => "Defunct",
        (0x05, 72) => "SetName",
        (0x11, 32) => "CreateHandle",
        (0x11, 33) => "CloseHandle",
        (0x11, 34) => "DuplicateHandle",
        (0x11, 36) => "TypeDCStart",
        (0x11, 37) => "TypeDCEnd",
        (0x11, 38) => "HandleDCStart",
        (0x11, 39) => "HandleDCEnd",
        (0x11, 48) => "CreateObject",
        (0x11, 49) => "DeleteObject",
        (0x11, 50) => "ReferenceObject",
        (0x11, 51) => "DereferenceObject",
        (0x14, 2) => "Unload",
        (0x14, 3) => "DCStart",
        (0x14, 4) => "DCStop",
        (0x14, 33) => "KernelBase",
        (0x18, 32) => "Stack",
        (0x18, 34) => "KeyCreate",
        (0x18, 35) => "KeyDelete",
        (0x18, 36) => "KeyRundown",
        (0x18, 37) => "StackKeyKernel",
        (0x18, 38) => "StackKeyUser",
        _ => return None,
    })
}

/// The `Provider/Event` name of an event key.
pub fn event_name(key: EventKey) -> String {
    match kernel_key(key) {
        EventKey::Hook(0x030A) => "Image/Load".to_string(),
        EventKey::Hook(h) => {
            let (group, ty) = ((h >> 8) as u8, (h & 0xFF) as u8);
            let g = group_name(group)
                .map(str::to_string)
                .unwrap_or_else(|| format!("Group0x{group:02X}"));
            match kernel_opcode_name(group, ty) {
                Some(n) => format!("{g}/{n}"),
                None => format!("{g}/{ty}"),
            }
        }
        EventKey::Manifest(g, 1) if g == CLR_PROVIDER => {
            "Microsoft-Windows-DotNETRuntime/GC/Start".to_string()
        }
        EventKey::Manifest(g, 2) if g == CLR_PROVIDER => {
            "Microsoft-Windows-DotNETRuntime/GC/Stop".to_string()
        }
        EventKey::Manifest(g, id) => format!("{{{g}}}/{id}"),
        EventKey::Classic(g, ty) if g == SYSCONFIG_EX => match ty {
            32 => "SysConfig/BuildInfo".to_string(),
            33 => "SysConfig/SystemPaths".to_string(),
            34 => "SysConfig/UnknownVolume".to_string(),
            35 => "SysConfig/VolumeMapping".to_string(),
            _ => format!("SysConfig/{ty}"),
        },
        EventKey::Classic(g, ty) => format!("{{{g}}}/{ty}"),
        EventKey::Message(n) => format!("WPP/{n}"),
        EventKey::Other(t) => format!("HeaderType0x{t:02X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfview_names() {
        assert_eq!(event_name(EventKey::Hook(0x0303)), "Process/DCStart");
        assert_eq!(event_name(EventKey::Hook(0x030A)), "Image/Load");
        assert_eq!(event_name(EventKey::Hook(0x0502)), "Thread/Stop");
        assert_eq!(event_name(EventKey::Hook(0x1820)), "StackWalk/Stack");
        assert_eq!(event_name(EventKey::Hook(0x0000)), "EventTrace/Header");
        assert_eq!(event_name(EventKey::Hook(0x1121)), "Object/CloseHandle");
        assert_eq!(event_name(EventKey::Hook(0x0110)), "DiskIO/16");
        assert_eq!(event_name(EventKey::Hook(0x7705)), "Group0x77/5");
    }
}
