//! `handlecheck completions SHELL`: the completion script on stdout.

use super::{Failure, write_stdout};

pub fn completions(shell: clap_complete::Shell) -> Result<u8, Failure> {
    let script = crate::generate::completion(shell);
    write_stdout(&String::from_utf8_lossy(&script))?;
    Ok(0)
}
