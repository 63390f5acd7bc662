//! Logging to stderr with `tracing`. Whatever the verbosity (and even under `RUST_LOG`), the
//! crates that see credentials or signed requests are held below the levels where they would
//! print them.

use tracing_subscriber::EnvFilter;

/// Appended last so they win over `-vv` and `RUST_LOG`: request signing and the HTTP layers
/// log canonical requests and headers (session tokens) at debug and trace.
const REDACT: &str = "aws_sigv4=off,aws_credential_types=info,aws_smithy_runtime=info,\
aws_smithy_runtime_api=info,aws_smithy_http=info,aws_smithy_http_client=info,hyper=info,\
hyper_util=info,h2=info,rustls=info";

/// Sets up stderr logging for `-v`/`-q` (or `RUST_LOG`); crates that see credentials stay quiet.
pub fn init(verbose: u8, quiet: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => format!("{value},{REDACT}"),
        _ => match (quiet, verbose) {
            (true, _) => "error,aws_sigv4=off".to_string(),
            // aws-config warns about every credential provider it tried; our error names the
            // real problem once.
            (false, 0) => "warn,aws_config=error,aws_sigv4=off".to_string(),
            (false, 1) => "warn,ecr_scan_gate=debug,aws_sdk_ecr=debug,aws_sigv4=off".to_string(),
            (false, _) => format!("info,ecr_scan_gate=trace,aws_sdk_ecr=debug,{REDACT}"),
        },
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::builder().parse_lossy(filter))
        .with_writer(std::io::stderr)
        .with_target(verbose > 0)
        .with_ansi(false)
        .try_init();
}
