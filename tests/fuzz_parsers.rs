//! The fuzz targets' checks (fuzz/src/checks.rs) on stable Rust, so `cargo test` catches a
//! parser panic or a check that no longer holds, and fails to build when the fuzz crate's
//! module tree (fuzz/src/lib.rs) no longer compiles against the engine's sources.
//!
//! Each test runs the target's seed corpus (fuzz/seeds/<target>/) and a fixed number of
//! mutants of it, from a fixed seed: the same inputs on every run. Real fuzzing, with coverage
//! feedback, is `cargo fuzz` (see fuzz/Cargo.toml).

use wsgiref_rs_fuzz::{checks, mutate};

/// Mutants per target: well under a second each in a debug build.
const ITERATIONS: usize = 200_000;

fn fuzz(target: &str, check: fn(&[u8]), seed: u64) {
    let seeds = mutate::seeds(target).unwrap_or_else(|e| panic!("fuzz/seeds/{target}: {e}"));
    assert!(!seeds.is_empty(), "fuzz/seeds/{target} is empty");
    let dict = mutate::dictionary().unwrap_or_else(|e| panic!("fuzz/http.dict: {e}"));
    mutate::run(check, &seeds, &dict, ITERATIONS, seed);
}

/// The mutator reads every token of the dictionary `cargo fuzz` is given, escapes decoded.
#[test]
fn the_dictionary_is_read_whole() {
    let dict = mutate::dictionary().expect("fuzz/http.dict");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/http.dict"))
        .expect("fuzz/http.dict");
    let tokens = text.lines().filter(|l| l.starts_with('"')).count();
    assert_eq!(dict.len(), tokens);
    assert!(dict.iter().any(|t| t == b"0\r\n\r\n"));
    assert!(dict.iter().all(|t| !t.is_empty()));
}

#[test]
fn parse_head_holds_on_mutated_seeds() {
    fuzz("parse_head", checks::parse_head, 0x5eed_0001_4ead);
}

#[test]
fn chunked_holds_on_mutated_seeds() {
    fuzz("chunked", checks::chunked, 0x5eed_0002_c4c4);
}

#[test]
fn proxy_protocol_holds_on_mutated_seeds() {
    fuzz("proxy_protocol", checks::proxy_protocol, 0x5eed_0003_9f0c);
}
