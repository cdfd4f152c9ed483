//! The PROXY protocol header parser on any bytes; the assertions are in `src/checks.rs`, shared
//! with `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wsgiref_rs_fuzz::checks::proxy_protocol(data));
