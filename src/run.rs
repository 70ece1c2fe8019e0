//! `handlecheck run -- CMD`: records CMD with the real strace into a file.

use std::path::PathBuf;
use std::process::Command;

use handlecheck::cli::RunArgs;

pub struct Recorded {
    path: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Recorded {
    pub fn path_string(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }
}

pub fn record(args: &RunArgs) -> Result<Recorded, String> {
    let (path, temp) = match &args.keep_trace {
        Some(p) => (p.clone(), None),
        None => {
            let dir = tempfile::tempdir()
                .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
            (dir.path().join("trace.log"), Some(dir))
        }
    };
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-tt", "-T", "-y", "-q", "-o"]).arg(&path);
    if args.stacks {
        cmd.arg("-k");
    }
    cmd.arg("--").args(&args.command);
    let status = cmd.status().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "strace is not installed (Debian/Ubuntu: apt-get install strace)".to_string()
        } else {
            format!("cannot start strace: {e}")
        }
    })?;
    if !path.exists() {
        return Err(format!("strace wrote no trace (exit status {status})"));
    }
    handlecheck::output::stderr(&format!(
        "handlecheck: recorded {} (the command exited with {status})\n",
        path.display()
    ));
    Ok(Recorded { path, _temp: temp })
}
