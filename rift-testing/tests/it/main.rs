//! Integration tests of `rift-testing`, one binary (see STYLE.md §8).

mod discord;
