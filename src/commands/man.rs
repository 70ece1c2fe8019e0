//! `handlecheck man`: the main page on stdout, or every page into a directory.

use std::io::Write;

use super::Failure;

pub fn man(out_dir: Option<&std::path::Path>) -> Result<u8, Failure> {
    let pages = crate::generate::man_pages();
    match out_dir {
        None => {
            let mut out = std::io::stdout().lock();
            if let Some((_, main)) = pages.first() {
                out.write_all(main)?;
            }
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::Message(format!("{}: {e}", dir.display())))?;
            for (name, text) in &pages {
                let p = dir.join(name);
                handlecheck::report::output::write_atomically(&p, |w| w.write_all(text))
                    .map_err(|e| Failure::Message(format!("{}: {e}", p.display())))?;
            }
        }
    }
    Ok(0)
}
