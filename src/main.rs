//! Entry point: parse flags, run, exit with the code the run decided.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match ecr_scan_gate::cli::parse() {
        Ok(cli) => cli,
        // clap exits 0 for --help/--version and 2 for usage errors.
        Err(e) => e.exit(),
    };
    ExitCode::from(ecr_scan_gate::run::run(cli))
}
