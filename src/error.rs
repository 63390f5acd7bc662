//! The errors that end a run without a judged outcome, each knowing its exit code. Errors of
//! one image (scan unusable, AWS) are [`crate::findings::ImageError`]: they are part of the
//! evaluation and its reports, not the end of the run.

use crate::exit::{Outcome, USAGE};
use crate::findings::saved::InputError;
use crate::policy::file::ConfigError;

/// Why a run stopped, or could not write what it judged.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag, image reference or setting that cannot work: found before any AWS call.
    #[error("{0}")]
    Usage(String),
    /// The policy file, every mistake with file, line and column.
    #[error(transparent)]
    Policy(#[from] ConfigError),
    /// A saved input file that cannot be read or is not a scan-findings response.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A report could not be written. The run's own outcome still wins when it is worse than a
    /// usage error, so a broken upload path never hides an AWS error.
    #[error("{message}")]
    Report {
        /// Which report, and why it could not be written.
        message: String,
        /// The run's judged outcome: a scan or AWS error keeps its exit code over this one.
        outcome: Outcome,
    },
}

impl Error {
    /// 2, except a report error after a scan or AWS error, which keeps that code (3 or 4).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Report { outcome, .. } if *outcome >= Outcome::ScanUnusable => outcome.code(),
            _ => USAGE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_error_never_lowers_a_scan_or_aws_outcome_and_never_passes() {
        let report = |outcome| Error::Report {
            message: "x".into(),
            outcome,
        };
        assert_eq!(report(Outcome::Pass).exit_code(), 2);
        assert_eq!(report(Outcome::Violation).exit_code(), 2);
        assert_eq!(report(Outcome::ScanUnusable).exit_code(), 3);
        assert_eq!(report(Outcome::AwsError).exit_code(), 4);
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
    }
}
