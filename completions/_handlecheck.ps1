
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'handlecheck' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'handlecheck'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'handlecheck' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('analyze', 'analyze', [CompletionResultType]::ParameterValue, 'Analyze traces and report handle bugs')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Record a command with the real strace (or perf trace), then analyze the trace')
            [CompletionResult]::new('record', 'record', [CompletionResultType]::ParameterValue, 'Record every process on the machine with `perf trace -a` for a while, then analyze it per process')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Show a rule''s documentation: what it finds, why, an example, how to fix')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'List the rules')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Count what traces hold: records or lines, events by kind, what was skipped or lost; per process and handle type: opened, closed, duplicated, inherited, peak and live at end')
            [CompletionResult]::new('timeline', 'timeline', [CompletionResultType]::ParameterValue, 'One handle value''s history: every generation in order, the findings that touch it')
            [CompletionResult]::new('graph', 'graph', [CompletionResultType]::ParameterValue, 'The handle graph of a selection (generations and their links) as Graphviz DOT or JSON')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page, or write every page (one per subcommand) into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'handlecheck;analyze' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the report here instead of stdout (`run`: instead of stderr)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the report here instead of stdout (`run`: instead of stderr)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only findings (and views) in this process')
            [CompletionResult]::new('--handle', '--handle', [CompletionResultType]::ParameterName, 'Only findings about this handle value (`3`, `0x1a4`)')
            [CompletionResult]::new('--program', '--program', [CompletionResultType]::ParameterName, 'Only findings in processes running this program (path or file name)')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Exit 1 when a finding at or above this level is reported')
            [CompletionResult]::new('--min-level', '--min-level', [CompletionResultType]::ParameterName, 'Lowest level to report')
            [CompletionResult]::new('--input-format', '--input-format', [CompletionResultType]::ParameterName, 'Input format, instead of sniffing the content')
            [CompletionResult]::new('--select', '--select', [CompletionResultType]::ParameterName, 'Only these rules (codes or names, comma separated)')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Skip these rules (codes or names, comma separated)')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads for the readers and rules (default: one per core; at most 256). Output is the same for any count')
            [CompletionResult]::new('--symbols', '--symbols', [CompletionResultType]::ParameterName, 'Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Also write a report in FORMAT to PATH (repeatable): `--report sarif=handles.sarif`')
            [CompletionResult]::new('--max-results', '--max-results', [CompletionResultType]::ParameterName, 'At most N results in SARIF output, errors first, then warnings, then notes (GitHub accepts 25,000 per run); 0: no cap')
            [CompletionResult]::new('--base-dir', '--base-dir', [CompletionResultType]::ParameterName, 'Report paths relative to this folder (default: the git top level of the working directory, else the working directory)')
            [CompletionResult]::new('--stdin-filename', '--stdin-filename', [CompletionResultType]::ParameterName, 'The name reports give stdin (`-`), e.g. the file it was piped from')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this config file instead of looking for handlecheck.toml')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Hide the findings recorded in this baseline file; report its stale entries')
            [CompletionResult]::new('--write-baseline', '--write-baseline', [CompletionResultType]::ParameterName, 'Record the current findings in this baseline file (then exit 0)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Treat skipped (unparseable) input as an error (exit 2)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the findings: no summary table, no progress bar, no notes on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the findings: no summary table, no progress bar, no notes on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print per-input statistics and timings to stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print per-input statistics and timings to stderr')
            [CompletionResult]::new('--no-config', '--no-config', [CompletionResultType]::ParameterName, 'Ignore handlecheck.toml files')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'handlecheck;run' {
            [CompletionResult]::new('--keep-trace', '--keep-trace', [CompletionResultType]::ParameterName, 'Keep the recorded trace at this path (default: a temporary file)')
            [CompletionResult]::new('--exit-from', '--exit-from', [CompletionResultType]::ParameterName, 'Exit status: auto (the command''s status, or 1 when the analysis finds something at --fail-on), child (always the command''s), analysis (0 or 1)')
            [CompletionResult]::new('--recorder', '--recorder', [CompletionResultType]::ParameterName, 'The recorder: strace (ptrace, every detail) or perf (`perf trace`: less overhead, no paths; falls back to strace when perf is missing or not permitted)')
            [CompletionResult]::new('--perf-pages', '--perf-pages', [CompletionResultType]::ParameterName, 'perf trace buffer per CPU, in pages (`perf trace -m`); too small loses events')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the report here instead of stdout (`run`: instead of stderr)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the report here instead of stdout (`run`: instead of stderr)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only findings (and views) in this process')
            [CompletionResult]::new('--handle', '--handle', [CompletionResultType]::ParameterName, 'Only findings about this handle value (`3`, `0x1a4`)')
            [CompletionResult]::new('--program', '--program', [CompletionResultType]::ParameterName, 'Only findings in processes running this program (path or file name)')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Exit 1 when a finding at or above this level is reported')
            [CompletionResult]::new('--min-level', '--min-level', [CompletionResultType]::ParameterName, 'Lowest level to report')
            [CompletionResult]::new('--input-format', '--input-format', [CompletionResultType]::ParameterName, 'Input format, instead of sniffing the content')
            [CompletionResult]::new('--select', '--select', [CompletionResultType]::ParameterName, 'Only these rules (codes or names, comma separated)')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Skip these rules (codes or names, comma separated)')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads for the readers and rules (default: one per core; at most 256). Output is the same for any count')
            [CompletionResult]::new('--symbols', '--symbols', [CompletionResultType]::ParameterName, 'Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Also write a report in FORMAT to PATH (repeatable): `--report sarif=handles.sarif`')
            [CompletionResult]::new('--max-results', '--max-results', [CompletionResultType]::ParameterName, 'At most N results in SARIF output, errors first, then warnings, then notes (GitHub accepts 25,000 per run); 0: no cap')
            [CompletionResult]::new('--base-dir', '--base-dir', [CompletionResultType]::ParameterName, 'Report paths relative to this folder (default: the git top level of the working directory, else the working directory)')
            [CompletionResult]::new('--stdin-filename', '--stdin-filename', [CompletionResultType]::ParameterName, 'The name reports give stdin (`-`), e.g. the file it was piped from')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read this config file instead of looking for handlecheck.toml')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Hide the findings recorded in this baseline file; report its stale entries')
            [CompletionResult]::new('--write-baseline', '--write-baseline', [CompletionResultType]::ParameterName, 'Record the current findings in this baseline file (then exit 0)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('--stacks', '--stacks', [CompletionResultType]::ParameterName, 'Record stack traces (strace -k): slower, but makes ownership findings certain')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Treat skipped (unparseable) input as an error (exit 2)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the findings: no summary table, no progress bar, no notes on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the findings: no summary table, no progress bar, no notes on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print per-input statistics and timings to stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print per-input statistics and timings to stderr')
            [CompletionResult]::new('--no-config', '--no-config', [CompletionResultType]::ParameterName, 'Ignore handlecheck.toml files')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'handlecheck;record' {
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long to record: `60s`, `1500ms`, `2m`, `1h` (a bare number is seconds)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the trace')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the trace')
            [CompletionResult]::new('--perf-pages', '--perf-pages', [CompletionResultType]::ParameterName, 'perf trace buffer per CPU, in pages (`perf trace -m`); too small loses events')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'Record every process on the machine (`perf trace -a`; needs root or CAP_PERFMON)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'handlecheck;explain' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'terminal (rendered text) or markdown (the doc as written)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'terminal (rendered text) or markdown (the doc as written)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'handlecheck;rules' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'table or json')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'table or json')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'handlecheck;stats' {
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only this process')
            [CompletionResult]::new('--program', '--program', [CompletionResultType]::ParameterName, 'Only processes running this program (path or file name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Output format (human or json)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (human or json)')
            [CompletionResult]::new('--input-format', '--input-format', [CompletionResultType]::ParameterName, 'Input format, instead of sniffing the content')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'handlecheck;timeline' {
            [CompletionResult]::new('--handle', '--handle', [CompletionResultType]::ParameterName, 'The handle value (`3`, `0x1a4`)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only this process')
            [CompletionResult]::new('--tid', '--tid', [CompletionResultType]::ParameterName, 'Only events of this thread')
            [CompletionResult]::new('--program', '--program', [CompletionResultType]::ParameterName, 'Only processes running this program (path or file name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--input-format', '--input-format', [CompletionResultType]::ParameterName, 'Input format, instead of sniffing the content')
            [CompletionResult]::new('--symbols', '--symbols', [CompletionResultType]::ParameterName, 'Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show the stack of each event')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show the stack of each event')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'handlecheck;graph' {
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only findings (and views) in this process')
            [CompletionResult]::new('--handle', '--handle', [CompletionResultType]::ParameterName, 'Only findings about this handle value (`3`, `0x1a4`)')
            [CompletionResult]::new('--program', '--program', [CompletionResultType]::ParameterName, 'Only findings in processes running this program (path or file name)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the graph here instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the graph here instead of stdout')
            [CompletionResult]::new('--input-format', '--input-format', [CompletionResultType]::ParameterName, 'Input format, instead of sniffing the content')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'handlecheck;completions' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'handlecheck;man' {
            [CompletionResult]::new('--out-dir', '--out-dir', [CompletionResultType]::ParameterName, 'Write handlecheck.1 and handlecheck-SUBCOMMAND.1 here instead of printing handlecheck.1')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI; CLICOLOR_FORCE or FORCE_COLOR force them), always, never')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'handlecheck;help' {
            [CompletionResult]::new('analyze', 'analyze', [CompletionResultType]::ParameterValue, 'Analyze traces and report handle bugs')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Record a command with the real strace (or perf trace), then analyze the trace')
            [CompletionResult]::new('record', 'record', [CompletionResultType]::ParameterValue, 'Record every process on the machine with `perf trace -a` for a while, then analyze it per process')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Show a rule''s documentation: what it finds, why, an example, how to fix')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'List the rules')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Count what traces hold: records or lines, events by kind, what was skipped or lost; per process and handle type: opened, closed, duplicated, inherited, peak and live at end')
            [CompletionResult]::new('timeline', 'timeline', [CompletionResultType]::ParameterValue, 'One handle value''s history: every generation in order, the findings that touch it')
            [CompletionResult]::new('graph', 'graph', [CompletionResultType]::ParameterValue, 'The handle graph of a selection (generations and their links) as Graphviz DOT or JSON')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page, or write every page (one per subcommand) into a directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'handlecheck;help;analyze' {
            break
        }
        'handlecheck;help;run' {
            break
        }
        'handlecheck;help;record' {
            break
        }
        'handlecheck;help;explain' {
            break
        }
        'handlecheck;help;rules' {
            break
        }
        'handlecheck;help;stats' {
            break
        }
        'handlecheck;help;timeline' {
            break
        }
        'handlecheck;help;graph' {
            break
        }
        'handlecheck;help;completions' {
            break
        }
        'handlecheck;help;man' {
            break
        }
        'handlecheck;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
