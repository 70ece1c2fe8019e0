//! Prints `handlecheck::formats::etl::stats` of each .etl file as JSON
//! (stand-in for the `stats` subcommand; used by benches/etl_vs_python.sh).
//! `--events` prints the decoded event stream instead.

use handlecheck::formats::etl;
use handlecheck::formats::{ReadContext, ReadStats};
use handlecheck::model::{Event, Interner};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
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
            let mut ctx = ReadContext { input: 0, interner: &mut interner, sink: &mut sink, stats: &mut stats };
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
