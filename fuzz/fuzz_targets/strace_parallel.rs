#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| handlecheck_fuzz::run("strace_parallel", data));
