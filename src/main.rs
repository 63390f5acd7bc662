//! Entry point: parse flags, run, map the outcome or the error to the exit code.

use std::process::ExitCode;

use ecr_scan_gate::report::escape;

fn main() -> ExitCode {
    let cli = match ecr_scan_gate::cli::parse() {
        Ok(cli) => cli,
        // clap exits 0 for --help/--version and 2 for usage errors.
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        // The webhook serves until SIGTERM; every other command is one run.
        ecr_scan_gate::cli::Command::Serve(args) => ecr_scan_gate::serve::run(cli.verbose, *args),
        command => ecr_scan_gate::app::run(ecr_scan_gate::cli::Cli { command, ..cli }),
    };
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(error) => {
            // Messages quote input files and policy values: escaped like any untrusted text.
            for line in error.to_string().lines() {
                eprintln!("error: {}", escape::terminal(line));
            }
            ExitCode::from(error.exit_code())
        }
    }
}
