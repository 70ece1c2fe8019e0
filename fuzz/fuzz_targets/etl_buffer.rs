#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| handlecheck_fuzz::run("etl_buffer", data));
