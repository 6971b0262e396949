//! Integration tests of `rift-discord`, one binary (see STYLE.md §8).

mod etf;
mod fake_gateway;
mod fake_rest;
mod gateway;
mod rest;
