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
        0x0B => "SystemConfig",
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
        // Verified against PerfView's own counts (perfview_net.4.5.2 baselines).
        (0x01, 10) => "Read",
        (0x01, 11) => "Write",
        (0x01, 12) => "ReadInit",
        (0x01, 13) => "WriteInit",
        (0x01, 14) => "FlushBuffers",
        (0x01, 15) => "FlushInit",
        (0x0B, 10) => "CPU",
        (0x0B, 11) => "PhyDisk",
        (0x0B, 12) => "LogDisk",
        (0x0B, 13) => "NIC",
        (0x0B, 15) => "Services",
        (0x0B, 16) => "Power",
        (0x0B, 17) => "Network",
        (0x0B, 22) => "PnP",
        (0x0B, 23) => "IDEChannel",
        (0x0B, 25) => "Platform",
        (0x06 | 0x08, 10) => "Send",
        (0x06 | 0x08, 11) => "Recv",
        (0x06 | 0x08, 26) => "SendIPV6",
        (0x06 | 0x08, 27) => "RecvIPV6",
        (0x0F, 46) => "Sample",
        (0x0F, 73) => "CollectionStart",
        (0x0F, 74) => "CollectionEnd",
        // The kernel MOF event types PerfView names the same way.
        (0x06, 12) => "Connect",
        (0x06, 13) => "Disconnect",
        (0x06, 14) => "Retransmit",
        (0x06, 15) => "Accept",
        (0x06, 16) => "Reconnect",
        (0x06, 17) => "Fail",
        (0x06, 18) => "TCPCopy",
        (0x04, 0) => "Name",
        (0x04, 32) => "FileCreate",
        (0x04, 35) => "FileDelete",
        (0x04, 36) => "FileRundown",
        (0x04, 64) => "Create",
        (0x04, 65) => "Cleanup",
        (0x04, 66) => "Close",
        (0x04, 67) => "Read",
        (0x04, 68) => "Write",
        (0x04, 69) => "SetInfo",
        (0x04, 70) => "Delete",
        (0x04, 71) => "Rename",
        (0x04, 72) => "DirEnum",
        (0x04, 73) => "Flush",
        (0x04, 74) => "QueryInfo",
        (0x04, 75) => "FSControl",
        (0x04, 76) => "OperationEnd",
        (0x04, 77) => "DirNotify",
        (0x09, 10) => "Create",
        (0x09, 11) => "Open",
        (0x09, 12) => "Delete",
        (0x09, 13) => "Query",
        (0x09, 14) => "SetValue",
        (0x09, 15) => "DeleteValue",
        (0x09, 16) => "QueryValue",
        (0x09, 17) => "EnumerateKey",
        (0x09, 18) => "EnumerateValueKey",
        (0x09, 19) => "QueryMultipleValue",
        (0x09, 20) => "SetInformation",
        (0x09, 21) => "Flush",
        (0x09, 22) => "KCBCreate",
        (0x09, 23) => "KCBDelete",
        (0x09, 24) => "KCBRundownBegin",
        (0x09, 25) => "KCBRundownEnd",
        (0x09, 26) => "Virtualize",
        (0x09, 27) => "Close",
        (0x05, 36) => "CSwitch",
        (0x05, 50) => "ReadyThread",
        (0x02, 10) => "TransitionFault",
        (0x02, 11) => "DemandZeroFault",
        (0x02, 12) => "CopyOnWrite",
        (0x02, 13) => "GuardPageFault",
        (0x02, 14) => "HardPageFault",
        (0x02, 15) => "AccessViolation",
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
        // PerfView lists the hard fault of the PageFault group under `Memory`.
        EventKey::Hook(0x0220) => "Memory/HardFault".to_string(),
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
        assert_eq!(event_name(EventKey::Hook(0x010A)), "DiskIO/Read");
        assert_eq!(event_name(EventKey::Hook(0x0220)), "Memory/HardFault");
        assert_eq!(event_name(EventKey::Hook(0x0B16)), "SystemConfig/PnP");
        assert_eq!(event_name(EventKey::Hook(0x061B)), "TcpIp/RecvIPV6");
        assert_eq!(event_name(EventKey::Hook(0x0443)), "FileIO/Read");
        assert_eq!(event_name(EventKey::Hook(0x7705)), "Group0x77/5");
    }
}
