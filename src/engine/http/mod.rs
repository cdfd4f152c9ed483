//! HTTP/1.1 as RFC 9110 and RFC 9112 write it, pure: no GIL, no I/O, no other part of the engine.
//! The fuzz crate (`fuzz/`) compiles the parsers from these very files, so they name each other
//! as `super::<file>` only.
//!
//! [`parse`] (a request head, parsed with httparse, its framing decided as RFC 9112 section 6
//! asks, smuggling refused), [`chunked`] (an incremental decoder that never reads past the body),
//! [`limits`] (the bounds a request is held to), [`fields`] (a head's header fields),
//! [`host`] (the Host field and absolute-form targets), [`forwarded`] (the proxy headers of
//! trusted peers), [`decimal`] (numbers written as text) and, not HTTP but read where a request
//! head is, [`proxy_protocol`] (the PROXY protocol header a proxy in TCP mode sends first).

pub mod chunked;
pub mod decimal;
pub mod fields;
pub mod forwarded;
pub mod host;
pub mod limits;
pub mod parse;
pub mod proxy_protocol;
#[cfg(test)]
pub mod rng;
