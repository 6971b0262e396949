//! Rift storage backends.
