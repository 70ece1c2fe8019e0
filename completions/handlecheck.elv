
use builtin;
use str;

set edit:completion:arg-completer[handlecheck] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'handlecheck'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'handlecheck'= {
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand analyze 'Analyze traces and report handle bugs'
            cand run 'Record a command with the real strace (or perf trace), then analyze the trace'
            cand record 'Record every process on the machine with `perf trace -a` for a while, then analyze it per process'
            cand explain 'Show a rule''s documentation: what it finds, why, an example, how to fix'
            cand rules 'List the rules'
            cand stats 'Count what traces hold: records or lines, events by kind, what was skipped or lost; per process and handle type: opened, closed, duplicated, inherited, peak and live at end'
            cand timeline 'One handle value''s history: every generation in order, the findings that touch it'
            cand graph 'The handle graph of a selection (generations and their links) as Graphviz DOT or JSON'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand man 'Print the man page, or write every page (one per subcommand) into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'handlecheck;analyze'= {
            cand -f 'Output format'
            cand --format 'Output format'
            cand -o 'Write the report here instead of stdout (`run`: instead of stderr)'
            cand --output 'Write the report here instead of stdout (`run`: instead of stderr)'
            cand --pid 'Only findings (and views) in this process'
            cand --handle 'Only findings about this handle value (`3`, `0x1a4`)'
            cand --program 'Only findings in processes running this program (path or file name)'
            cand --fail-on 'Exit 1 when a finding at or above this level is reported'
            cand --min-level 'Lowest level to report'
            cand --input-format 'Input format, instead of sniffing the content'
            cand --select 'Only these rules (codes or names, comma separated)'
            cand --ignore 'Skip these rules (codes or names, comma separated)'
            cand --threads 'Worker threads for the readers and rules (default: one per core; at most 256). Output is the same for any count'
            cand --symbols 'Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks'
            cand --report 'Also write a report in FORMAT to PATH (repeatable): `--report sarif=handles.sarif`'
            cand --max-results 'At most N results in SARIF output, errors first, then warnings, then notes (GitHub accepts 25,000 per run); 0: no cap'
            cand --base-dir 'Report paths relative to this folder (default: the git top level of the working directory, else the working directory)'
            cand --stdin-filename 'The name reports give stdin (`-`), e.g. the file it was piped from'
            cand --config 'Read this config file instead of looking for handlecheck.toml'
            cand --baseline 'Hide the findings recorded in this baseline file; report its stale entries'
            cand --write-baseline 'Record the current findings in this baseline file (then exit 0)'
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand --strict 'Treat skipped (unparseable) input as an error (exit 2)'
            cand -q 'Print only the findings: no summary table, no progress bar, no notes on stderr'
            cand --quiet 'Print only the findings: no summary table, no progress bar, no notes on stderr'
            cand -v 'Print per-input statistics and timings to stderr'
            cand --verbose 'Print per-input statistics and timings to stderr'
            cand --no-config 'Ignore handlecheck.toml files'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'handlecheck;run'= {
            cand --keep-trace 'Keep the recorded trace at this path (default: a temporary file)'
            cand --exit-from 'Exit status: auto (the command''s status, or 1 when the analysis finds something at --fail-on), child (always the command''s), analysis (0 or 1)'
            cand --recorder 'The recorder: strace (ptrace, every detail) or perf (`perf trace`: less overhead, no paths; falls back to strace when perf is missing or not permitted)'
            cand --perf-pages 'perf trace buffer per CPU, in pages (`perf trace -m`); too small loses events'
            cand -f 'Output format'
            cand --format 'Output format'
            cand -o 'Write the report here instead of stdout (`run`: instead of stderr)'
            cand --output 'Write the report here instead of stdout (`run`: instead of stderr)'
            cand --pid 'Only findings (and views) in this process'
            cand --handle 'Only findings about this handle value (`3`, `0x1a4`)'
            cand --program 'Only findings in processes running this program (path or file name)'
            cand --fail-on 'Exit 1 when a finding at or above this level is reported'
            cand --min-level 'Lowest level to report'
            cand --input-format 'Input format, instead of sniffing the content'
            cand --select 'Only these rules (codes or names, comma separated)'
            cand --ignore 'Skip these rules (codes or names, comma separated)'
            cand --threads 'Worker threads for the readers and rules (default: one per core; at most 256). Output is the same for any count'
            cand --symbols 'Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks'
            cand --report 'Also write a report in FORMAT to PATH (repeatable): `--report sarif=handles.sarif`'
            cand --max-results 'At most N results in SARIF output, errors first, then warnings, then notes (GitHub accepts 25,000 per run); 0: no cap'
            cand --base-dir 'Report paths relative to this folder (default: the git top level of the working directory, else the working directory)'
            cand --stdin-filename 'The name reports give stdin (`-`), e.g. the file it was piped from'
            cand --config 'Read this config file instead of looking for handlecheck.toml'
            cand --baseline 'Hide the findings recorded in this baseline file; report its stale entries'
            cand --write-baseline 'Record the current findings in this baseline file (then exit 0)'
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand --stacks 'Record stack traces (strace -k): slower, but makes ownership findings certain'
            cand --strict 'Treat skipped (unparseable) input as an error (exit 2)'
            cand -q 'Print only the findings: no summary table, no progress bar, no notes on stderr'
            cand --quiet 'Print only the findings: no summary table, no progress bar, no notes on stderr'
            cand -v 'Print per-input statistics and timings to stderr'
            cand --verbose 'Print per-input statistics and timings to stderr'
            cand --no-config 'Ignore handlecheck.toml files'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'handlecheck;record'= {
            cand --duration 'How long to record: `60s`, `1500ms`, `2m`, `1h` (a bare number is seconds)'
            cand -o 'Where to write the trace'
            cand --output 'Where to write the trace'
            cand --perf-pages 'perf trace buffer per CPU, in pages (`perf trace -m`); too small loses events'
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand --system 'Record every process on the machine (`perf trace -a`; needs root or CAP_PERFMON)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'handlecheck;explain'= {
            cand -f 'terminal (rendered text) or markdown (the doc as written)'
            cand --format 'terminal (rendered text) or markdown (the doc as written)'
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'handlecheck;rules'= {
            cand -f 'table or json'
            cand --format 'table or json'
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'handlecheck;stats'= {
            cand --pid 'Only this process'
            cand --program 'Only processes running this program (path or file name)'
            cand -f 'Output format (human or json)'
            cand --format 'Output format (human or json)'
            cand --input-format 'Input format, instead of sniffing the content'
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'handlecheck;timeline'= {
            cand --handle 'The handle value (`3`, `0x1a4`)'
            cand --pid 'Only this process'
            cand --tid 'Only events of this thread'
            cand --program 'Only processes running this program (path or file name)'
            cand -f 'Output format'
            cand --format 'Output format'
            cand --input-format 'Input format, instead of sniffing the content'
            cand --symbols 'Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks'
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand -v 'Show the stack of each event'
            cand --verbose 'Show the stack of each event'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'handlecheck;graph'= {
            cand --pid 'Only findings (and views) in this process'
            cand --handle 'Only findings about this handle value (`3`, `0x1a4`)'
            cand --program 'Only findings in processes running this program (path or file name)'
            cand -f 'Output format'
            cand --format 'Output format'
            cand -o 'Write the graph here instead of stdout'
            cand --output 'Write the graph here instead of stdout'
            cand --input-format 'Input format, instead of sniffing the content'
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'handlecheck;completions'= {
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'handlecheck;man'= {
            cand --out-dir 'Write handlecheck.1 and handlecheck-SUBCOMMAND.1 here instead of printing handlecheck.1'
            cand --color 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'handlecheck;help'= {
            cand analyze 'Analyze traces and report handle bugs'
            cand run 'Record a command with the real strace (or perf trace), then analyze the trace'
            cand record 'Record every process on the machine with `perf trace -a` for a while, then analyze it per process'
            cand explain 'Show a rule''s documentation: what it finds, why, an example, how to fix'
            cand rules 'List the rules'
            cand stats 'Count what traces hold: records or lines, events by kind, what was skipped or lost; per process and handle type: opened, closed, duplicated, inherited, peak and live at end'
            cand timeline 'One handle value''s history: every generation in order, the findings that touch it'
            cand graph 'The handle graph of a selection (generations and their links) as Graphviz DOT or JSON'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand man 'Print the man page, or write every page (one per subcommand) into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'handlecheck;help;analyze'= {
        }
        &'handlecheck;help;run'= {
        }
        &'handlecheck;help;record'= {
        }
        &'handlecheck;help;explain'= {
        }
        &'handlecheck;help;rules'= {
        }
        &'handlecheck;help;stats'= {
        }
        &'handlecheck;help;timeline'= {
        }
        &'handlecheck;help;graph'= {
        }
        &'handlecheck;help;completions'= {
        }
        &'handlecheck;help;man'= {
        }
        &'handlecheck;help;help'= {
        }
    ]
    $completions[$command]
}
