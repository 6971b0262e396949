//! Runnable examples of embedding Rift: see the `[[example]]` targets of this package.
