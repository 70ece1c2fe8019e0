//! Prints `handlecheck::formats::etl::stats` of each .etl file as JSON
//! (stand-in for the `stats` subcommand; used by benches/etl_vs_python.sh).
//! `--events` prints the decoded event stream instead; `--inflate IN OUT` writes
//! a copy of IN with every compressed buffer stored uncompressed (for tools that
//! cannot inflate, e.g. the Python comparison in benches/).

use handlecheck::formats::etl;
use handlecheck::formats::{ReadContext, ReadStats};
use handlecheck::model::{Event, Interner};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--inflate") && args.len() == 3 {
        std::process::exit(inflate(&args[1], &args[2]));
    }
    let events = args.first().is_some_and(|a| a == "--events");
    if events {
        args.remove(0);
    }
    let mut code = 0;
    for path in &args {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{path}: {e}");
                code = 2;
                continue;
            }
        };
        // SAFETY: the file is only read; a concurrent truncation is the usual mmap caveat.
        let map = match unsafe { memmap2::Mmap::map(&file) } {
            Ok(m) => m,
            Err(e) => {
                eprintln!("{path}: {e}");
                code = 2;
                continue;
            }
        };
        let bytes: &[u8] = &map;
        if events {
            let mut interner = Interner::new();
            let mut sink: Vec<Event> = Vec::new();
            let mut stats = ReadStats::default();
            let mut ctx = ReadContext {
                input: 0,
                interner: &mut interner,
                sink: &mut sink,
                stats: &mut stats,
            };
            if let Err(e) = etl::read(bytes, path, &mut ctx) {
                eprintln!("{e}");
                code = 2;
                continue;
            }
            for ev in &sink {
                println!("{}", etl::render_event(ev, &interner));
            }
            eprintln!("{stats:?}");
        } else {
            match etl::stats(bytes, path) {
                Ok(s) => println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default()),
                Err(e) => {
                    eprintln!("{e}");
                    code = 2;
                }
            }
        }
    }
    std::process::exit(code);
}

fn inflate(input: &str, output: &str) -> i32 {
    use etl::container;
    let Ok(bytes) = std::fs::read(input) else {
        eprintln!("{input}: cannot read");
        return 2;
    };
    let layout = container::walk(&bytes);
    let mut out = Vec::with_capacity(bytes.len() * 5);
    let mut scratch = Vec::new();
    for info in &layout.buffers {
        let Ok(data) = container::data(&bytes, info, container::MAX_INFLATED, &mut scratch) else {
            eprintln!("{input}: damaged buffer at 0x{:x} left out", info.offset);
            continue;
        };
        let start = out.len();
        out.extend_from_slice(data);
        if info.compressed() {
            let size = (data.len() as u32).to_le_bytes();
            out[start..start + 4].copy_from_slice(&size);
            let flags = (info.flags & !container::flag::COMPRESSED).to_le_bytes();
            out[start + 0x34..start + 0x36].copy_from_slice(&flags);
        } else {
            // Keep the buffer's full stored size (padding after the used data).
            out.truncate(start);
            out.extend_from_slice(&bytes[info.offset..info.offset + info.size]);
        }
    }
    match std::fs::write(output, &out) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{output}: {e}");
            2
        }
    }
}
