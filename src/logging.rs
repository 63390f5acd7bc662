//! Logging to stderr with `tracing`, by allow-list: our own crate logs at the level asked
//! (`-v`, `-vv`, `RUST_LOG`), a few AWS crates are let through only up to a capped level, and
//! everything else is silent. Request signing, credential providers and the HTTP stack log
//! canonical requests and headers (session tokens) at debug and trace; no setting reaches them.

use tracing::level_filters::LevelFilter;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// Targets that may log, and the most verbose level each may reach whatever is asked.
const ALLOWED: &[(&str, LevelFilter)] = &[
    ("ecr_scan_gate", LevelFilter::TRACE),
    // One line per API call at debug; its trace level dumps requests.
    ("aws_sdk_ecr", LevelFilter::DEBUG),
    // Which credential provider answered, the region: never the credentials themselves.
    ("aws_config", LevelFilter::INFO),
    // Retries and throttling, at info and above only.
    ("aws_smithy_runtime", LevelFilter::INFO),
];

/// Whether the allow-list lets an event of `target` at `level` through at all.
fn allows(target: &str, level: Level) -> bool {
    ALLOWED.iter().any(|(prefix, cap)| {
        let within = target
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"));
        within && level <= *cap
    })
}

fn allowed(meta: &Metadata<'_>) -> bool {
    allows(meta.target(), *meta.level())
}

/// Sets up logging once; `RUST_LOG`, when set, chooses levels within the allow-list.
pub fn init(verbose: u8, quiet: bool) {
    install(levels(verbose, quiet, false), verbose > 0, false);
}

/// Logging for `serve`: a server says what it does (info) by default, as text or JSON lines.
pub fn init_server(verbose: u8, json: bool) {
    install(levels(verbose, false, true), true, json);
}

fn levels(verbose: u8, quiet: bool, server: bool) -> String {
    if let Ok(value) = std::env::var("RUST_LOG") {
        if !value.trim().is_empty() {
            return value;
        }
    }
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) if server => "warn,ecr_scan_gate=info,aws_config=error",
        // aws-config warns about every credential provider it tried; our error names the
        // real problem once.
        (false, 0) => "warn,aws_config=error",
        (false, 1) => "warn,ecr_scan_gate=debug,aws_sdk_ecr=debug",
        (false, _) => "info,ecr_scan_gate=trace,aws_sdk_ecr=debug",
    }
    .to_string()
}

fn install(asked: String, target: bool, json: bool) {
    let layer: Box<dyn Layer<Registry> + Send + Sync> = if json {
        Box::new(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr)
                .with_target(true),
        )
    } else {
        Box::new(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(target)
                .with_ansi(false),
        )
    };
    let layer = layer
        .with_filter(EnvFilter::builder().parse_lossy(asked))
        .with_filter(filter_fn(allowed));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(target: &str, level: Level) -> bool {
        allows(target, level)
    }

    #[test]
    fn signing_credentials_and_http_never_log_and_aws_crates_are_capped() {
        assert!(passes("ecr_scan_gate::ecr::wait", Level::TRACE));
        assert!(passes("aws_sdk_ecr", Level::DEBUG));
        assert!(!passes("aws_sdk_ecr", Level::TRACE));
        assert!(!passes("aws_config::sts", Level::DEBUG));
        for target in [
            "aws_sigv4::http_request",
            "aws_credential_types",
            "hyper_util",
            "h2",
            "rustls",
        ] {
            assert!(!passes(target, Level::ERROR), "{target}");
        }
        assert!(
            !passes("aws_sdk_ecrx", Level::ERROR),
            "prefixes end at a module boundary"
        );
    }
}
