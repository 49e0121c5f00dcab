//! Log output on standard error: readable text (coloured only on a terminal) or one JSON
//! object per line for log shippers (`LIMS_LOG_FORMAT=json`). `RUST_LOG` sets the levels.

use std::io::IsTerminal;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// The value of `LIMS_LOG_FORMAT`: `text` (default) or `json`.
    pub fn parse(value: Option<&str>) -> Result<LogFormat, String> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!(
                "LIMS_LOG_FORMAT must be text or json, got {other:?}"
            )),
        }
    }
}

type Subscriber = Box<dyn tracing::Subscriber + Send + Sync>;

/// The subscriber for `format`. Events carry the fields of their spans, so every line of a
/// request names its request id.
pub fn subscriber<W>(format: LogFormat, ansi: bool, filter: EnvFilter, writer: W) -> Subscriber
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// Installs the global subscriber from the environment (and forwards the `log` records of
/// actix and other crates to it).
pub fn init() -> Result<(), String> {
    let format = LogFormat::parse(std::env::var("LIMS_LOG_FORMAT").ok().as_deref())?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let ansi = std::io::stderr().is_terminal();
    subscriber(format, ansi, filter, std::io::stderr)
        .try_init()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    fn emit(format: LogFormat, ansi: bool) -> String {
        let buffer = Buffer::default();
        let sub = subscriber(format, ansi, EnvFilter::new("info"), buffer.clone());
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("request", id = "req-42");
            let _entered = span.enter();
            tracing::error!(error = "boom", "request failed");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text
    }

    #[test]
    fn format_comes_from_the_variable() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("JSON")), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse(Some("text")), Ok(LogFormat::Text));
        assert!(LogFormat::parse(Some("xml")).is_err());
    }

    #[test]
    fn json_lines_carry_the_request_id() {
        let line = emit(LogFormat::Json, false);
        let value: serde_json::Value = serde_json::from_str(line.trim()).expect(&line);
        assert_eq!(value["fields"]["message"], "request failed");
        assert_eq!(value["span"]["id"], "req-42");
        assert_eq!(value["level"], "ERROR");
    }

    #[test]
    fn text_has_no_colour_codes_unless_asked() {
        let plain = emit(LogFormat::Text, false);
        assert!(plain.contains("request failed"), "{plain}");
        assert!(plain.contains("req-42"), "{plain}");
        assert!(!plain.contains('\u{1b}'), "{plain:?}");
        assert!(emit(LogFormat::Text, true).contains('\u{1b}'));
    }
}
