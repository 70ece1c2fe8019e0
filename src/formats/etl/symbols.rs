//! `--symbols DIR`: names for `module+0xoffset` frames from PDB files.
//!
//! ETW stack walks give addresses; the reader turns them into `module+0xRVA`
//! with the process's module map. Given a folder of PDBs (`module.pdb`), each
//! such frame becomes `module!function+0xdelta` using the PDB's public function
//! symbols, when the address lies in the same image section as the symbol.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use pdb::FallibleIterator;

use crate::formats::InputError;
use crate::model::Interner;

#[derive(Default)]
struct ModuleSymbols {
    /// (rva, name), sorted by rva.
    functions: Vec<(u32, String)>,
    /// Image sections as [start, end) RVAs.
    sections: Vec<(u32, u32)>,
}

impl ModuleSymbols {
    fn section_of(&self, rva: u32) -> Option<usize> {
        self.sections
            .iter()
            .position(|(s, e)| rva >= *s && rva < *e)
    }

    fn resolve(&self, rva: u32) -> Option<(&str, u32)> {
        let i = self
            .functions
            .partition_point(|(r, _)| *r <= rva)
            .checked_sub(1)?;
        let (start, name) = self.functions.get(i)?;
        let section = self.section_of(rva)?;
        (self.section_of(*start) == Some(section)).then(|| (name.as_str(), rva - start))
    }
}

/// Symbols of every PDB in a folder, by lower-case module stem (`pool` for
/// `pool.exe`, `pool.dll`, `pool.pdb`).
#[derive(Default)]
pub struct Symbolizer {
    modules: HashMap<String, ModuleSymbols>,
}

fn pdb_error(path: &Path, e: impl std::fmt::Display) -> InputError {
    InputError::new(path.display().to_string(), format!("unreadable PDB: {e}"))
}

impl Symbolizer {
    /// Loads every `*.pdb` in `dir`. A folder without PDBs is an error (a typo
    /// in `--symbols` should not pass silently); an unreadable PDB is an error
    /// naming it.
    pub fn load(dir: &Path) -> Result<Symbolizer, InputError> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            InputError::new(dir.display().to_string(), e.to_string())
                .hint("--symbols takes a folder of .pdb files")
        })?;
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdb")))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(
                InputError::new(dir.display().to_string(), "no .pdb files in this folder")
                    .hint("--symbols takes a folder of .pdb files named after their modules"),
            );
        }
        let mut out = Symbolizer::default();
        for path in paths {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            out.modules.insert(stem, read_pdb(&path)?);
        }
        Ok(out)
    }

    pub fn modules(&self) -> usize {
        self.modules.len()
    }

    /// `pool.exe+0x1004` → `pool.exe!create_event_for_worker+0x4`.
    pub fn resolve(&self, frame: &str) -> Option<String> {
        let (module, offset) = frame.rsplit_once("+0x")?;
        if module.contains('!') || module.is_empty() {
            return None;
        }
        let rva = u32::from_str_radix(offset, 16).ok()?;
        let stem = module.rsplit(['\\', '/']).next().unwrap_or(module);
        let stem = stem
            .rsplit_once('.')
            .map(|(s, _)| s)
            .unwrap_or(stem)
            .to_ascii_lowercase();
        let (name, delta) = self.modules.get(&stem)?.resolve(rva)?;
        Some(format!("{module}!{name}+{delta:#x}"))
    }

    /// Rewrites every interned `module+0xoffset` string it can name; returns how many.
    pub fn symbolize(&self, interner: &mut Interner) -> usize {
        interner.rewrite(|s| self.resolve(s))
    }
}

fn read_pdb(path: &Path) -> Result<ModuleSymbols, InputError> {
    let file = File::open(path).map_err(|e| pdb_error(path, e))?;
    let mut pdb = pdb::PDB::open(file).map_err(|e| pdb_error(path, e))?;
    let address_map = pdb.address_map().map_err(|e| pdb_error(path, e))?;
    let mut out = ModuleSymbols::default();
    if let Some(sections) = pdb.sections().map_err(|e| pdb_error(path, e))? {
        for s in sections {
            out.sections.push((
                s.virtual_address,
                s.virtual_address.saturating_add(s.virtual_size),
            ));
        }
    }
    let globals = pdb.global_symbols().map_err(|e| pdb_error(path, e))?;
    let mut iter = globals.iter();
    while let Some(symbol) = iter.next().map_err(|e| pdb_error(path, e))? {
        if let Ok(pdb::SymbolData::Public(p)) = symbol.parse()
            && p.function
            && let Some(rva) = p.offset.to_rva(&address_map)
        {
            out.functions.push((rva.0, p.name.to_string().into_owned()));
        }
    }
    out.functions.sort();
    out.functions.dedup_by_key(|(r, _)| *r);
    Ok(out)
}
