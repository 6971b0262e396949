//! Criterion benchmarks of Rift; the benchmarks themselves are the `[[bench]]` targets in
//! `benches/` (`router`, `send`, `permissions`), and this library is empty. `cargo test
//! --all-targets` runs each once in test mode, so they cannot rot; measure with:
//!
//! ```sh
//! cargo bench -p rift-benches --bench router
//! cargo bench -p rift-benches --bench send -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! The README's figures name the command that produced each of them.
