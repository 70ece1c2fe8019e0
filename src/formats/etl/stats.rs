//! `handlecheck stats` for `.etl`: what the file holds, counted per event.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::container::{BufferDamage, Layout, flag};
use super::headers::EventKey;
use super::kernel::LogfileHeader;
use super::scan::{self, BufferScan, ScanOptions};
use super::{check_input, names};
use crate::formats::InputError;

/// Counts of one `.etl` file. Times are ns since the Unix epoch.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EtlStats {
    /// Every record in the file, the EventTrace header record included.
    pub records: u64,
    /// What the tracer says it lost (logfile header counters, buffer flags).
    pub lost: BTreeMap<String, u64>,
    /// Records per `Provider/Event` (PerfView names for kernel events).
    pub by_event: BTreeMap<String, u64>,
    pub buffers: u64,
    pub compressed_buffers: u64,
    /// Buffers whose data could not be used (skipped), and why.
    pub damaged_buffers: u64,
    pub damage: BTreeMap<String, u64>,
    /// Buffers whose records ended early at an unparseable record.
    pub buffers_with_bad_record: u64,
    /// The file ends inside a buffer, or a buffer header made no sense.
    pub truncated: bool,
    /// Bytes of the file covered by buffers.
    pub buffer_bytes: u64,
    /// Bytes of record data after inflating compressed buffers.
    pub record_bytes: u64,
    /// Pointer size of the session (logfile header).
    pub pointer_size: Option<u32>,
    pub records_32bit: u64,
    pub records_64bit: u64,
    /// Distinct processor numbers of the buffers.
    pub cpus: u64,
    pub header_cpus: Option<u32>,
    pub os_build: Option<u32>,
    /// 1 QPC, 2 system time, 3 CPU cycles.
    pub clock_type: Option<u32>,
    pub perf_freq: Option<u64>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub first_event_time: Option<i64>,
    pub last_event_time: Option<i64>,
}

/// What the tracer lost, by reason.
pub(crate) fn lost_counts(
    header: Option<&LogfileHeader>,
    layout: &Layout,
) -> BTreeMap<String, u64> {
    let mut lost = BTreeMap::new();
    if let Some(h) = header {
        if h.events_lost != 0 {
            lost.insert(
                "events lost (logfile header)".to_string(),
                u64::from(h.events_lost),
            );
        }
        if h.buffers_lost != 0 {
            lost.insert(
                "buffers lost (logfile header)".to_string(),
                u64::from(h.buffers_lost),
            );
        }
    }
    for b in &layout.buffers {
        if b.flags & flag::EVENTS_LOST != 0 {
            *lost
                .entry("buffers flagged EVENTS_LOST".to_string())
                .or_insert(0) += 1;
        }
        if b.flags & flag::BUFFER_LOST != 0 {
            *lost
                .entry("buffers flagged BUFFER_LOST".to_string())
                .or_insert(0) += 1;
        }
    }
    lost
}

pub(crate) fn damage_reason(d: BufferDamage) -> &'static str {
    match d {
        BufferDamage::Truncated => "truncated compressed buffer",
        BufferDamage::BadFilled => "bad buffer fill size",
        BufferDamage::Lz77(_) => "bad LZ77 data",
    }
}

/// Counts the records of an `.etl` file (all buffers, in parallel).
pub fn stats(bytes: &[u8], path: &str) -> Result<EtlStats, InputError> {
    let layout = check_input(bytes, path)?;
    let header = scan::find_logfile(bytes, &layout);
    let opts = ScanOptions {
        count_events: true,
        decode_items: false,
        max_inflated: scan::max_inflated(header.as_ref()),
    };
    let scans = scan::scan_all(bytes, &layout, opts);
    Ok(summarize(&layout, header.as_ref(), &scans))
}

fn summarize(layout: &Layout, header: Option<&LogfileHeader>, scans: &[BufferScan]) -> EtlStats {
    let mut s = EtlStats {
        lost: lost_counts(header, layout),
        ..EtlStats::default()
    };
    let mut counts: HashMap<EventKey, u64> = HashMap::new();
    let mut cpus = BTreeSet::new();
    let (mut min_ts, mut max_ts) = (None::<u64>, None::<u64>);
    for (info, scan) in layout.buffers.iter().zip(scans) {
        s.buffers += 1;
        s.buffer_bytes += info.size as u64;
        if info.compressed() {
            s.compressed_buffers += 1;
        }
        cpus.insert(info.cpu);
        if let Some(d) = scan.damage {
            s.damaged_buffers += 1;
            *s.damage.entry(damage_reason(d).to_string()).or_insert(0) += 1;
        }
        if scan.bad_record {
            s.buffers_with_bad_record += 1;
        }
        s.records += u64::from(scan.records);
        s.records_32bit += u64::from(scan.ptr32_records);
        s.records_64bit += u64::from(scan.ptr64_records);
        s.record_bytes += scan.inflated_bytes;
        for (k, n) in &scan.counts {
            *counts.entry(*k).or_insert(0) += n;
        }
        min_ts = match (min_ts, scan.min_ts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        max_ts = match (max_ts, scan.max_ts) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    s.truncated = layout.broken_at.is_some()
        || !layout.skipped_headers.is_empty()
        || layout.buffers.last().is_some_and(|b| b.truncated);
    for (k, n) in counts {
        *s.by_event.entry(names::event_name(k)).or_insert(0) += n;
    }
    s.cpus = cpus.len() as u64;
    if let Some(h) = header {
        s.pointer_size = Some(h.pointer_size);
        s.header_cpus = Some(h.cpus);
        s.os_build = Some(h.provider_version);
        s.clock_type = Some(h.clock_type);
        s.perf_freq = Some(h.perf_freq);
        s.start_time = LogfileHeader::filetime_ns(h.start_time);
        s.end_time = LogfileHeader::filetime_ns(h.end_time);
        s.first_event_time = min_ts.and_then(|t| h.unix_ns(t));
        s.last_event_time = max_ts.and_then(|t| h.unix_ns(t));
    }
    s
}
