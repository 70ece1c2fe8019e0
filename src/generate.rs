//! Shell completions and man pages, generated from the one clap definition
//! (`cli::Cli`). The checked-in copies in `completions/` and `man/`
//! are compared with these in a test, so they cannot go stale.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "handlecheck", &mut out);
    out
}

/// Sections only the main page has (roff).
const MAIN_EXTRA: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
No reported finding at or above \fB\-\-fail\-on\fR (default: error), or \fB\-\-write\-baseline\fR was given.
Findings hidden by \fB\-\-min\-level\fR, the baseline or the config never fail the run.
.TP
\fB1\fR
Reported findings at or above \fB\-\-fail\-on\fR.
.TP
\fB2\fR
Usage error, bad config file, or an unreadable or empty input (with several inputs, the
readable ones are still analysed and reported).
.PP
\fBhandlecheck run\fR exits with the command's status (128 + N when signal N killed it) when
the analysis finds nothing at \fB\-\-fail\-on\fR, else 1 (or 2); \fB\-\-exit\-from child\fR always
takes the command's status, \fB\-\-exit\-from analysis\fR only the analysis (0, 1 or 2).
.SH ENVIRONMENT
.TP
\fBNO_COLOR\fR
When set and not empty, no colours (unless \fB\-\-color always\fR).
.TP
\fBCLICOLOR_FORCE\fR, \fBFORCE_COLOR\fR
When set and not 0, colours even when the output is not a terminal (unless \fB\-\-color never\fR).
.TP
\fBCLICOLOR\fR
\fB0\fR: no colours.
.TP
\fBTERM\fR
\fBdumb\fR: no colours.
.TP
\fBCI\fR
When set (and not false or 0), no colours even on a terminal.
.TP
\fBCOLUMNS\fR
The width of human output; without it, the terminal's width, else 100.
.TP
\fBGITHUB_STEP_SUMMARY\fR
With \fB\-\-format github\fR, a Markdown summary of the findings is appended to this file.
.SH FILES
.TP
\fBhandlecheck.toml\fR, \fB.handlecheck.toml\fR
Config file, looked for in the working directory and its parents up to the repository root:
\fB[rules]\fR levels (\fBHC006 = "error"\fR, \fBHC010 = "off"\fR), \fB[allow]\fR lists
(\fBpaths\fR, \fBtypes\fR, \fBframes\fR) and \fB[thresholds]\fR.
.SH "SEE ALSO"
\fBstrace\fR(1), \fBhandlecheck explain\fR \fICODE\fR
"#;

/// Every man page: `handlecheck.1` and one per (visible) subcommand, as
/// (file name, roff text), in a stable order.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    fn walk(cmd: clap::Command, out: &mut Vec<(String, Vec<u8>)>) {
        let subs: Vec<clap::Command> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .cloned()
            .collect();
        let man = clap_mangen::Man::new(cmd);
        let mut buf = Vec::new();
        if man.render(&mut buf).is_ok() {
            out.push((man.get_filename(), buf));
        }
        for s in subs {
            walk(s, out);
        }
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(cmd, &mut out);
    if let Some((_, main)) = out.first_mut() {
        main.extend_from_slice(MAIN_EXTRA.as_bytes());
    }
    out
}
