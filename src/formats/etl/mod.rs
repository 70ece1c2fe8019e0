//! Binary ETW `.etl` files, pure Rust, any OS (research etw.md).
//!
//! Layers, one file each: [`container`] (buffers), [`lz77`] (compressed
//! buffers), [`headers`] (record header kinds), [`kernel`] (payloads of the
//! events used), [`scan`] (parallel per-buffer decoding), [`reader`] (time
//! merge, stacks, `Event`s), [`stats`], [`render`], [`names`].
//!
//! Entry points: [`sniff`], [`read`], [`stats()`], [`render_event`].

pub mod bytes;
pub mod container;
pub mod headers;
pub mod kernel;
pub mod lz77;
pub mod names;
pub mod reader;
pub mod render;
pub mod scan;
pub mod stats;
pub mod symbols;

use super::InputError;

pub use reader::read;
pub use render::render_event;
pub use stats::{EtlStats, stats};

/// True when `head` starts like an `.etl` file: a plausible buffer header
/// whose first record is a trace header (normally the EventTrace/Header
/// record). Needs at least 0x50 bytes.
pub fn sniff(head: &[u8]) -> bool {
    let (Some(size), Some(marker)) = (
        bytes::u32_at(head, 0),
        bytes::u32_at(head, container::BUFFER_HEADER_SIZE),
    ) else {
        return false;
    };
    let [_, _, htype, hflags] = marker.to_le_bytes();
    size as usize >= container::BUFFER_HEADER_SIZE + 8
        && hflags == 0xC0
        && matches!(htype, 0x01..=0x04 | 0x0A | 0x0B | 0x10..=0x15)
}

/// Rejects inputs that are not ETL at all, with a message naming the problem.
pub(crate) fn check_input(bytes: &[u8], path: &str) -> Result<container::Layout, InputError> {
    if bytes.is_empty() {
        return Err(InputError::new(path.to_string(), "empty file: an .etl file holds at least one buffer").hint("ETW writes buffers when the session is stopped or flushed; stop the session (wpr -stop, xperf -stop, \
                 logman stop) before reading the file"
                    .to_string(),));
    }
    if !sniff(bytes) {
        return Err(InputError::new(
            path.to_string(),
            "not an ETW .etl file: no valid buffer header and trace record at the start",
        )
        .at(crate::input::error::Location::Byte(0))
        .hint("use --input-format to choose another reader"));
    }
    let layout = container::walk(bytes);
    if layout.buffers.is_empty() {
        return Err(InputError::new(path.to_string(), "no readable ETW buffer")
            .at(crate::input::error::Location::Byte(0)));
    }
    Ok(layout)
}
