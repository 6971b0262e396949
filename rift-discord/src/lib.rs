#![doc = include_str!("../README.md")]

pub mod bridge;
mod compression;
mod error;
pub mod etf;
pub mod gateway;
pub mod import;
pub mod model;
pub mod rest;

pub use compression::Inflater;
pub use error::Error;
