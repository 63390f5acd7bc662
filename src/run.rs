//! The pipeline each command runs: validated settings → findings (saved files or ECR) →
//! policy → reports → exit code. Usage errors stop here before any AWS call or report.

use std::io::Write;

use crate::cli::{Cli, ColorChoice, Command, EvaluateArgs, PolicyArgs, ReportArgs};
use crate::exit;
use crate::findings::{saved, ScannedImage};
use crate::policy::{self, Evaluation, Policy};
use crate::report::{self, escape};

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    crate::logging::init(cli.verbose, cli.quiet);
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => report::stdout_supports_color(),
    };
    match cli.command {
        Command::Evaluate(args) => evaluate(args, color, cli.quiet),
        Command::Check(args) => crate::live::check(args, color, cli.quiet),
        Command::Wait(args) => crate::live::wait(args, color, cli.quiet),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "ecr-scan-gate", &mut std::io::stdout());
            exit::PASS
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
                Ok(()) => exit::PASS,
                Err(e) => usage_error(&format!("cannot write the man page: {e}")),
            }
        }
    }
}

fn evaluate(args: EvaluateArgs, color: bool, quiet: bool) -> u8 {
    let (policy, outputs) = match prepare(&args.policy, &args.report) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let images = match saved::read_inputs(&args.files) {
        Ok(images) => images,
        Err(e) => return usage_error(&e.to_string()),
    };
    judge_and_report(images, &policy, &args.report, &outputs, color, quiet)
}

/// The common end of `evaluate` and `check`: judge every image, write every report.
pub fn judge_and_report(
    images: Vec<ScannedImage>,
    policy: &Policy,
    report: &ReportArgs,
    outputs: &[report::Output],
    color: bool,
    quiet: bool,
) -> u8 {
    let evaluation = policy::evaluate(images, policy, crate::timestamp::today_utc());
    let options = report::Options {
        color,
        sarif_location: report.sarif_location.clone(),
        include_findings: true,
    };
    finish(&evaluation, outputs, &options, quiet)
}

/// The policy in force and the reports asked for, or the usage error's exit code.
pub fn prepare(
    policy: &PolicyArgs,
    report: &ReportArgs,
) -> Result<(Policy, Vec<report::Output>), u8> {
    let policy = policy.resolve().map_err(|e| usage_error(&e.to_string()))?;
    let outputs = report.outputs().map_err(|e| usage_error(&e))?;
    Ok((policy, outputs))
}

/// Reports the evaluation everywhere it was asked for and returns its exit code. A report
/// that cannot be written never leaves the run at 0.
pub fn finish(
    evaluation: &Evaluation,
    outputs: &[report::Output],
    options: &report::Options,
    quiet: bool,
) -> u8 {
    if !quiet {
        for warning in evaluation.all_warnings() {
            eprintln!("warning: {}", escape::terminal(&warning));
        }
    }
    for image in &evaluation.images {
        if let Some(error) = &image.error {
            eprintln!(
                "error: {}: {}",
                escape::terminal(&image.image.to_string()),
                escape::terminal(&error.message)
            );
        }
    }
    match report::write_all(evaluation, outputs, options) {
        Ok(()) => evaluation.exit_code,
        Err(e) => {
            for line in e.lines() {
                eprintln!("error: {}", escape::terminal(line));
            }
            if evaluation.exit_code == exit::PASS || evaluation.exit_code == exit::POLICY_VIOLATION
            {
                exit::USAGE
            } else {
                evaluation.exit_code
            }
        }
    }
}

pub fn usage_error(message: &str) -> u8 {
    // Messages can quote input files and policy values: escape them like any untrusted text.
    let mut stderr = std::io::stderr().lock();
    for line in message.lines() {
        let _ = writeln!(stderr, "error: {}", escape::terminal(line));
    }
    exit::USAGE
}
