//! Criterion benchmarks of Rift live in `benches/`.
