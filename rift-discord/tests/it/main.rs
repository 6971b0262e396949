//! Integration tests of `rift-discord`, one binary (see STYLE.md §8).

mod etf;
mod gateway;
mod rest;
