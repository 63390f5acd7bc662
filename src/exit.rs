//! Exit codes: the contract a pipeline acts on. [`Outcome`] is the result of a finished run,
//! ordered so the worst of several images is simply the maximum; usage errors (2) are decided
//! before any work and are not an outcome of judging.

/// Usage or configuration error: bad flag, policy file, image reference or input JSON.
pub const USAGE: u8 = 2;

/// How a judged run (or one image of it) ended, from best to worst: the worst wins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Every image passes the policy.
    #[default]
    Pass,
    /// At least one image violates the policy.
    Violation,
    /// A scan is not usable: timed out, failed, unsupported, eligibility expired, not found.
    ScanUnusable,
    /// AWS error: credentials, access denied, repository or image not found, network after retries.
    AwsError,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::Violation => 1,
            Outcome::ScanUnusable => 3,
            Outcome::AwsError => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_outcome_wins_in_the_documented_order() {
        let worst = |o: &[Outcome]| o.iter().copied().max().unwrap_or_default();
        use Outcome::*;
        assert_eq!(worst(&[Pass]).code(), 0);
        assert_eq!(worst(&[Pass, Violation]).code(), 1);
        assert_eq!(worst(&[Violation, ScanUnusable]).code(), 3);
        assert_eq!(worst(&[AwsError, ScanUnusable, Violation, Pass]).code(), 4);
    }
}
