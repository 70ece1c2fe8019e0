//! The one integration-test binary: each module is one area of the tool
//! (readers, rules, reports, the CLI); shared helpers live in `common`.

mod common;

#[global_allocator]
static ALLOCATOR: common::alloc::Counting = common::alloc::Counting;

mod appverif_read;
mod ci_cli;
mod ci_reports;
mod ci_run;
mod ci_view;
mod clean_fixtures;
mod cli_analyze;
mod corruption;
mod etl_counts;
mod etl_read;
mod etl_robust;
mod etl_rules;
mod etl_samples;
mod etl_symbols;
mod etl_synthetic;
mod finding_memory;
mod fuzz_corpus;
mod hostile_output;
mod hostile_work;
mod htrace_read;
mod htrace_sniff;
mod jsonl_read;
mod kept_positives;
mod mda_read;
mod ownership;
mod pathological;
mod perf_trace;
mod properties;
mod report_stream;
mod rule_alone;
mod rule_snapshots;
mod skip_accounting;
mod spool_bounded;
mod strace_ground_truth;
mod strace_parser;
mod terminal_layout;
mod views_filter;
mod views_graph;
mod views_html;
mod views_stats;
mod views_timeline;
mod windows_rules;
