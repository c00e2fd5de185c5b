//! Structured logs on stderr: JSON in production, pretty in development; the filter comes from
//! `log.level` (or `RUST_LOG` when set). Never PII, keys or bodies: handlers log ids and codes.
//!
//! Lines are formatted where they happen and written by a thread of their own, in batches (one
//! write for whatever accumulated, rather than one per line: the access log alone is a line per
//! request). Nothing is dropped: a burst waits for the writer. The guard [`init`] returns
//! writes what remains when it is dropped, at the end of the command.

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber (once; later calls are ignored, as in tests). Keep the guard
/// until the command ends: dropping it writes the lines still buffered.
pub fn init(config: &LogConfig) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.level));
    // Colour codes only for a person at a terminal, never into files or collectors.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(ansi);
    let _already_installed = match config.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    guard
}
