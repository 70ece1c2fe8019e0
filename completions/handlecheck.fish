# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_handlecheck_global_optspecs
    string join \n color= h/help V/version
end

function __fish_handlecheck_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_handlecheck_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_handlecheck_using_subcommand
    set -l cmd (__fish_handlecheck_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c handlecheck -n "__fish_handlecheck_needs_command" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_needs_command" -s h -l help -d 'Print help'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "analyze" -d 'Analyze traces and report handle bugs'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "run" -d 'Record a command with the real strace (or perf trace), then analyze the trace'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "record" -d 'Record every process on the machine with `perf trace -a` for a while, then analyze it per process'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "explain" -d 'Show a rule\'s documentation: what it finds, why, an example, how to fix'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "rules" -d 'List the rules'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "stats" -d 'Count what traces hold: records or lines, events by kind, what was skipped or lost; per process and handle type: opened, closed, duplicated, inherited, peak and live at end'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "timeline" -d 'One handle value\'s history: every generation in order, the findings that touch it'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "graph" -d 'The handle graph of a selection (generations and their links) as Graphviz DOT or JSON'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "man" -d 'Print the man page, or write every page (one per subcommand) into a directory'
complete -c handlecheck -n "__fish_handlecheck_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -s f -l format -d 'Output format' -r -f -a "human\t''
json\t''
sarif\t'SARIF 2.1.0 (GitHub code scanning and other viewers)'
junit\t'JUnit XML: one testsuite per input, one testcase per rule'
github\t'GitHub Actions workflow commands (annotations) plus a job summary'
gitlab\t'GitLab Code Quality JSON'
html\t'One self-contained HTML page: chart, findings with timelines, stats'"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -s o -l output -d 'Write the report here instead of stdout (`run`: instead of stderr)' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l pid -d 'Only findings (and views) in this process' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l handle -d 'Only findings about this handle value (`3`, `0x1a4`)' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l program -d 'Only findings in processes running this program (path or file name)' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l fail-on -d 'Exit 1 when a finding at or above this level is reported' -r -f -a "error\t''
warning\t''
note\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l min-level -d 'Lowest level to report' -r -f -a "error\t''
warning\t''
note\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l input-format -d 'Input format, instead of sniffing the content' -r -f -a "strace\t''
etl\t''
htrace\t''
appverif\t''
mda\t''
jsonl\t''
perf-trace\t'`perf trace` output (`perf trace -o FILE`, or its stderr)'"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l select -d 'Only these rules (codes or names, comma separated)' -r -f -a "HC001\t''
HC002\t''
HC003\t''
HC004\t''
HC005\t''
HC006\t''
HC007\t''
HC008\t''
HC009\t''
HC010\t''
HC011\t''
double-release\t''
use-after-close\t''
reuse-after-close\t''
namespace-collision\t''
worker-event-leak\t''
handle-leak\t''
release-failed\t''
invalid-handle\t''
close-while-in-use\t''
leaked-across-exec\t''
context-handle-mismatch\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l ignore -d 'Skip these rules (codes or names, comma separated)' -r -f -a "HC001\t''
HC002\t''
HC003\t''
HC004\t''
HC005\t''
HC006\t''
HC007\t''
HC008\t''
HC009\t''
HC010\t''
HC011\t''
double-release\t''
use-after-close\t''
reuse-after-close\t''
namespace-collision\t''
worker-event-leak\t''
handle-leak\t''
release-failed\t''
invalid-handle\t''
close-while-in-use\t''
leaked-across-exec\t''
context-handle-mismatch\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l threads -d 'Worker threads for the readers and rules (default: one per core; at most 256). Output is the same for any count' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l symbols -d 'Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l report -d 'Also write a report in FORMAT to PATH (repeatable): `--report sarif=handles.sarif`' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l max-results -d 'At most N results in SARIF output, errors first, then warnings, then notes (GitHub accepts 25,000 per run); 0: no cap' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l base-dir -d 'Report paths relative to this folder (default: the git top level of the working directory, else the working directory)' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l stdin-filename -d 'The name reports give stdin (`-`), e.g. the file it was piped from' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l config -d 'Read this config file instead of looking for handlecheck.toml' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l baseline -d 'Hide the findings recorded in this baseline file; report its stale entries' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l write-baseline -d 'Record the current findings in this baseline file (then exit 0)' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l strict -d 'Treat skipped (unparseable) input as an error (exit 2)'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -s q -l quiet -d 'Print only the findings: no summary table, no progress bar, no notes on stderr'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -s v -l verbose -d 'Print per-input statistics and timings to stderr'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -l no-config -d 'Ignore handlecheck.toml files'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand analyze" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l keep-trace -d 'Keep the recorded trace at this path (default: a temporary file)' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l exit-from -d 'Exit status: auto (the command\'s status, or 1 when the analysis finds something at --fail-on), child (always the command\'s), analysis (0 or 1)' -r -f -a "auto\t''
child\t''
analysis\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l recorder -d 'The recorder: strace (ptrace, every detail) or perf (`perf trace`: less overhead, no paths; falls back to strace when perf is missing or not permitted)' -r -f -a "strace\t''
perf\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l perf-pages -d 'perf trace buffer per CPU, in pages (`perf trace -m`); too small loses events' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -s f -l format -d 'Output format' -r -f -a "human\t''
json\t''
sarif\t'SARIF 2.1.0 (GitHub code scanning and other viewers)'
junit\t'JUnit XML: one testsuite per input, one testcase per rule'
github\t'GitHub Actions workflow commands (annotations) plus a job summary'
gitlab\t'GitLab Code Quality JSON'
html\t'One self-contained HTML page: chart, findings with timelines, stats'"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -s o -l output -d 'Write the report here instead of stdout (`run`: instead of stderr)' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l pid -d 'Only findings (and views) in this process' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l handle -d 'Only findings about this handle value (`3`, `0x1a4`)' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l program -d 'Only findings in processes running this program (path or file name)' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l fail-on -d 'Exit 1 when a finding at or above this level is reported' -r -f -a "error\t''
warning\t''
note\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l min-level -d 'Lowest level to report' -r -f -a "error\t''
warning\t''
note\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l input-format -d 'Input format, instead of sniffing the content' -r -f -a "strace\t''
etl\t''
htrace\t''
appverif\t''
mda\t''
jsonl\t''
perf-trace\t'`perf trace` output (`perf trace -o FILE`, or its stderr)'"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l select -d 'Only these rules (codes or names, comma separated)' -r -f -a "HC001\t''
HC002\t''
HC003\t''
HC004\t''
HC005\t''
HC006\t''
HC007\t''
HC008\t''
HC009\t''
HC010\t''
HC011\t''
double-release\t''
use-after-close\t''
reuse-after-close\t''
namespace-collision\t''
worker-event-leak\t''
handle-leak\t''
release-failed\t''
invalid-handle\t''
close-while-in-use\t''
leaked-across-exec\t''
context-handle-mismatch\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l ignore -d 'Skip these rules (codes or names, comma separated)' -r -f -a "HC001\t''
HC002\t''
HC003\t''
HC004\t''
HC005\t''
HC006\t''
HC007\t''
HC008\t''
HC009\t''
HC010\t''
HC011\t''
double-release\t''
use-after-close\t''
reuse-after-close\t''
namespace-collision\t''
worker-event-leak\t''
handle-leak\t''
release-failed\t''
invalid-handle\t''
close-while-in-use\t''
leaked-across-exec\t''
context-handle-mismatch\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l threads -d 'Worker threads for the readers and rules (default: one per core; at most 256). Output is the same for any count' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l symbols -d 'Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l report -d 'Also write a report in FORMAT to PATH (repeatable): `--report sarif=handles.sarif`' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l max-results -d 'At most N results in SARIF output, errors first, then warnings, then notes (GitHub accepts 25,000 per run); 0: no cap' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l base-dir -d 'Report paths relative to this folder (default: the git top level of the working directory, else the working directory)' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l stdin-filename -d 'The name reports give stdin (`-`), e.g. the file it was piped from' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l config -d 'Read this config file instead of looking for handlecheck.toml' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l baseline -d 'Hide the findings recorded in this baseline file; report its stale entries' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l write-baseline -d 'Record the current findings in this baseline file (then exit 0)' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l stacks -d 'Record stack traces (strace -k): slower, but makes ownership findings certain'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l strict -d 'Treat skipped (unparseable) input as an error (exit 2)'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -s q -l quiet -d 'Print only the findings: no summary table, no progress bar, no notes on stderr'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -s v -l verbose -d 'Print per-input statistics and timings to stderr'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -l no-config -d 'Ignore handlecheck.toml files'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand run" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand record" -l duration -d 'How long to record: `60s`, `1500ms`, `2m`, `1h` (a bare number is seconds)' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand record" -s o -l output -d 'Where to write the trace' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand record" -l perf-pages -d 'perf trace buffer per CPU, in pages (`perf trace -m`); too small loses events' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand record" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand record" -l system -d 'Record every process on the machine (`perf trace -a`; needs root or CAP_PERFMON)'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand record" -s h -l help -d 'Print help'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand record" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand explain" -s f -l format -d 'terminal (rendered text) or markdown (the doc as written)' -r -f -a "terminal\t''
markdown\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand explain" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand explain" -s h -l help -d 'Print help'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand explain" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand rules" -s f -l format -d 'table or json' -r -f -a "table\t''
json\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand rules" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand rules" -s h -l help -d 'Print help'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand rules" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand stats" -l pid -d 'Only this process' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand stats" -l program -d 'Only processes running this program (path or file name)' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand stats" -s f -l format -d 'Output format (human or json)' -r -f -a "human\t''
json\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand stats" -l input-format -d 'Input format, instead of sniffing the content' -r -f -a "strace\t''
etl\t''
htrace\t''
appverif\t''
mda\t''
jsonl\t''
perf-trace\t'`perf trace` output (`perf trace -o FILE`, or its stderr)'"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand stats" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand stats" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -l handle -d 'The handle value (`3`, `0x1a4`)' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -l pid -d 'Only this process' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -l tid -d 'Only events of this thread' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -l program -d 'Only processes running this program (path or file name)' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -s f -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -l input-format -d 'Input format, instead of sniffing the content' -r -f -a "strace\t''
etl\t''
htrace\t''
appverif\t''
mda\t''
jsonl\t''
perf-trace\t'`perf trace` output (`perf trace -o FILE`, or its stderr)'"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -l symbols -d 'Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -s v -l verbose -d 'Show the stack of each event'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand timeline" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand graph" -l pid -d 'Only findings (and views) in this process' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand graph" -l handle -d 'Only findings about this handle value (`3`, `0x1a4`)' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand graph" -l program -d 'Only findings in processes running this program (path or file name)' -r
complete -c handlecheck -n "__fish_handlecheck_using_subcommand graph" -s f -l format -d 'Output format' -r -f -a "dot\t'Graphviz DOT (`dot -Tsvg`)'
json\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand graph" -s o -l output -d 'Write the graph here instead of stdout' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand graph" -l input-format -d 'Input format, instead of sniffing the content' -r -f -a "strace\t''
etl\t''
htrace\t''
appverif\t''
mda\t''
jsonl\t''
perf-trace\t'`perf trace` output (`perf trace -o FILE`, or its stderr)'"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand graph" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand graph" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand graph" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand completions" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand completions" -s h -l help -d 'Print help'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand completions" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand man" -l out-dir -d 'Write handlecheck.1 and handlecheck-SUBCOMMAND.1 here instead of printing handlecheck.1' -r -F
complete -c handlecheck -n "__fish_handlecheck_using_subcommand man" -l color -d 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c handlecheck -n "__fish_handlecheck_using_subcommand man" -s h -l help -d 'Print help'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand man" -s V -l version -d 'Print version'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "analyze" -d 'Analyze traces and report handle bugs'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "run" -d 'Record a command with the real strace (or perf trace), then analyze the trace'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "record" -d 'Record every process on the machine with `perf trace -a` for a while, then analyze it per process'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "explain" -d 'Show a rule\'s documentation: what it finds, why, an example, how to fix'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "rules" -d 'List the rules'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "stats" -d 'Count what traces hold: records or lines, events by kind, what was skipped or lost; per process and handle type: opened, closed, duplicated, inherited, peak and live at end'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "timeline" -d 'One handle value\'s history: every generation in order, the findings that touch it'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "graph" -d 'The handle graph of a selection (generations and their links) as Graphviz DOT or JSON'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "man" -d 'Print the man page, or write every page (one per subcommand) into a directory'
complete -c handlecheck -n "__fish_handlecheck_using_subcommand help; and not __fish_seen_subcommand_from analyze run record explain rules stats timeline graph completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
