//! Progress for long work: an indicatif bar on stderr, only when stderr is a terminal (scripts and
//! logs get the final summary line alone).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar or spinner, or nothing when stderr is not a terminal.
pub(crate) struct Progress(Option<ProgressBar>);

impl Progress {
    /// Counts items of unknown total.
    pub(crate) fn spinner(what: &str) -> Self {
        Self::shown(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}: {pos} records ({per_sec})") {
                bar.set_style(style);
            }
            bar.set_message(what.to_owned());
            bar
        })
    }

    /// Counts `total` items.
    pub(crate) fn bar(what: &str, total: u64) -> Self {
        Self::shown(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template("{msg}: [{bar:40}] {pos}/{len} ({eta})") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(what.to_owned());
            bar
        })
    }

    fn shown(make: impl FnOnce() -> ProgressBar) -> Self {
        Self(std::io::stderr().is_terminal().then(make))
    }

    /// One more item done.
    pub(crate) fn tick(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    /// Sets how far the work is when its total grows as it goes.
    pub(crate) fn set(&self, done: u64, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
