//! A small deterministic mutation fuzzer, so `cargo test` on stable Rust runs the fuzz targets'
//! checks too: no libFuzzer, no coverage feedback, a fixed number of inputs from a fixed seed.
//!
//! It mutates the seed corpus (`fuzz/seeds/<target>/`) the way libFuzzer's simplest mutators do
//! (bit flips, interesting bytes, dictionary tokens from `fuzz/http.dict`, deleted, repeated
//! and spliced ranges), stacking a few mutations per input. Finding deep bugs is `cargo fuzz`'s
//! job; this one keeps a broken check or a shallow panic from reaching a commit.

use std::fs;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::rng::Rng;

/// Inputs grow no longer than this: the parsers' interesting states are near the start.
const MAX_LEN: usize = 4096;

/// Bytes the parsers treat specially, for the byte-replacing mutation.
const INTERESTING: &[u8] = b"\r\n\t :;,=\"0159aAfFxX-+./\x00\x7f\x80\xff";

/// The fuzz crate's directory, where the seeds and the dictionary are.
fn fuzz_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The seed corpus of one target: every file in `fuzz/seeds/<target>/`, in name order.
pub fn seeds(target: &str) -> io::Result<Vec<Vec<u8>>> {
    let dir = fuzz_dir().join("seeds").join(target);
    let mut paths = fs::read_dir(&dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<PathBuf>>>()?;
    paths.sort();
    paths.iter().map(fs::read).collect()
}

/// The tokens of `fuzz/http.dict`, the dictionary `cargo fuzz` is given too.
pub fn dictionary() -> io::Result<Vec<Vec<u8>>> {
    let text = fs::read_to_string(fuzz_dir().join("http.dict"))?;
    Ok(text.lines().filter_map(dictionary_token).collect())
}

/// One line of a libFuzzer dictionary: `"token"` (optionally `name="token"`) with `\\`, `\"`
/// and `\xNN` escapes; `None` for comments, blank lines and anything else.
fn dictionary_token(line: &str) -> Option<Vec<u8>> {
    let line = line.trim();
    if line.starts_with('#') {
        return None;
    }
    let quoted = line.get(line.find('"')?..)?;
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?.as_bytes();
    let mut token = Vec::with_capacity(inner.len());
    let mut i = 0;
    while let Some(&b) = inner.get(i) {
        match (b, inner.get(i + 1)) {
            (b'\\', Some(b'x')) => {
                let hex = std::str::from_utf8(inner.get(i + 2..i + 4)?).ok()?;
                token.push(u8::from_str_radix(hex, 16).ok()?);
                i += 4;
            }
            (b'\\', Some(&escaped)) => {
                token.push(escaped);
                i += 2;
            }
            _ => {
                token.push(b);
                i += 1;
            }
        }
    }
    Some(token)
}

/// Runs `check` on every seed, then on `iterations` mutants of them from a generator started at
/// `seed`. An input that makes `check` panic is printed (escaped) before the panic goes on.
pub fn run(
    check: impl Fn(&[u8]),
    seeds: &[Vec<u8>],
    dict: &[Vec<u8>],
    iterations: usize,
    seed: u64,
) {
    let try_one = |input: &[u8]| {
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| check(input))) {
            eprintln!("fuzz input that panicked: b\"{}\"", input.escape_ascii());
            panic::resume_unwind(panic);
        }
    };
    for input in seeds {
        try_one(input);
    }
    // xorshift must not start at 0.
    let mut rng = Rng(seed | 1);
    let mut input = Vec::new();
    for _ in 0..iterations {
        // Half the time go on from the last mutant, to reach further from the seeds.
        if input.is_empty() || rng.below(2) == 0 {
            input.clear();
            input.extend_from_slice(rng.pick(seeds).map_or(&[][..], Vec::as_slice));
        }
        for _ in 0..=rng.below(4) {
            mutate(&mut input, &mut rng, seeds, dict);
        }
        input.truncate(MAX_LEN);
        try_one(&input);
    }
}

/// Applies one mutation to `input`.
fn mutate(input: &mut Vec<u8>, rng: &mut Rng, seeds: &[Vec<u8>], dict: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(8) {
        // Flip one bit.
        0 => {
            let bit = rng.below(8);
            if let Some(b) = input.get_mut(rng.below(len)) {
                *b ^= 1 << bit;
            }
        }
        // Replace a byte with one the parsers care about.
        1 => {
            let new = rng.pick(INTERESTING).copied().unwrap_or(0);
            if let Some(b) = input.get_mut(rng.below(len)) {
                *b = new;
            }
        }
        // Insert a dictionary token.
        2 => {
            let at = rng.below(len + 1);
            let token = rng.pick(dict).map_or(&[][..], Vec::as_slice);
            input.splice(at..at, token.iter().copied());
        }
        // Overwrite with a dictionary token.
        3 => {
            let at = rng.below(len + 1);
            let token = rng.pick(dict).map_or(&[][..], Vec::as_slice);
            let end = (at + token.len()).min(len);
            input.splice(at..end, token.iter().copied());
        }
        // Delete a range.
        4 => {
            let at = rng.below(len + 1);
            let end = (at + 1 + rng.below(16)).min(len);
            input.drain(at..end);
        }
        // Repeat a range somewhere else.
        5 => {
            let from = rng.below(len + 1);
            let end = (from + 1 + rng.below(32)).min(len);
            let range = input.get(from..end).unwrap_or_default().to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, range);
        }
        // Splice: keep a prefix, then the tail of a seed.
        6 => {
            let other = rng.pick(seeds).map_or(&[][..], Vec::as_slice);
            let from = rng.below(other.len() + 1);
            input.truncate(rng.below(len + 1));
            input.extend_from_slice(other.get(from..).unwrap_or_default());
        }
        // A new first byte: other limits, another piece size.
        _ => {
            let choice = rng.below(256) as u8;
            match input.first_mut() {
                Some(b) => *b = choice,
                None => input.push(choice),
            }
        }
    }
}
