//! The engine's pure parsers, compiled from their own source files, and the checks the fuzz
//! targets run on them.
//!
//! The parsers are pure Rust (no GIL, no I/O), so this crate compiles `src/engine/http/<name>.rs`
//! directly instead of depending on `wsgiref_rs`: no libpython to link, and libFuzzer
//! instruments only the parsers. Each module keeps the name it has in the engine, so the
//! `super::fields`, `super::limits`, ... paths inside those files resolve here as they do
//! there. A pure module the parsers come to need is one more `#[path]` module below.
//!
//! [`checks`] holds the targets' bodies: `fuzz_targets/*.rs` call them under libFuzzer, and the
//! main crate's `cargo test` (`tests/fuzz_parsers.rs`) calls them on stable Rust over a seeded
//! [`mutate`] run of the seed corpus in `fuzz/seeds/`.

#[path = "../../src/engine/http/chunked.rs"]
pub mod chunked;
#[path = "../../src/engine/http/fields.rs"]
pub mod fields;
#[path = "../../src/engine/http/host.rs"]
pub mod host;
#[path = "../../src/engine/http/limits.rs"]
pub mod limits;
#[path = "../../src/engine/http/parse.rs"]
pub mod parse;
#[path = "../../src/engine/http/proxy_protocol.rs"]
pub mod proxy_protocol;
#[path = "../../src/engine/http/rng.rs"]
pub mod rng;

pub mod checks;
pub mod mutate;
