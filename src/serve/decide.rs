//! The admission decision, read off the `Evaluation` the judge made: no verdict is decided
//! here, only what `--mode` does with it. A failing image, and an image that could not be
//! judged (fail closed), refuse in enforce mode and warn in warn mode.

use crate::cli::ServeMode;
use crate::evaluation::{Evaluation, ImageEvaluation, State, Verdict};
use crate::report::escape;

use super::review::Answer;

/// kubectl prints each warning on one line; the API server drops longer ones.
const WARNING_CHARS: usize = 255;
/// Violations named per failing image; the rest are counted.
const TOP_VIOLATIONS: usize = 3;

/// How a review ended, as metrics and logs count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Every image passed (or nothing needed judging).
    Allowed,
    /// Refused (enforce mode).
    Refused,
    /// Allowed, though enforce mode would have refused (warn mode).
    Warned,
    /// An exempt namespace: allowed without a look.
    Exempt,
}

impl Admission {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Admission::Allowed => "allowed",
            Admission::Refused => "refused",
            Admission::Warned => "warned",
            Admission::Exempt => "exempt",
        }
    }
}

/// One image that enforce mode refuses, for the message and the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The image as judged (`repo:tag@digest (platform)`).
    pub image: String,
    /// Its digest, once resolved.
    pub digest: Option<String>,
    /// The top violations, or why it could not be judged.
    pub reason: String,
}

/// The answer and what led to it.
#[derive(Debug)]
pub struct Decision {
    /// What the API server is told.
    pub answer: Answer,
    /// How it ended.
    pub result: Admission,
    /// Every image enforce mode refuses.
    pub problems: Vec<Problem>,
}

impl Decision {
    /// Allowed with nothing to say.
    pub fn allow(result: Admission) -> Self {
        Decision {
            answer: Answer {
                allowed: true,
                message: None,
                warnings: Vec::new(),
            },
            result,
            problems: Vec::new(),
        }
    }

    /// No judgement at all (the deadline passed, the object could not be read): refused in
    /// enforce mode, a warning in warn mode.
    pub fn undecided(mode: ServeMode, what: &str, why: String) -> Self {
        decision(
            mode,
            what,
            vec![Problem {
                image: "the object".to_string(),
                digest: None,
                reason: why,
            }],
            Vec::new(),
        )
    }
}

/// The decision on `what` (`Deployment shop/web`) from the evaluation of its images.
pub fn decide(evaluation: &Evaluation, mode: ServeMode, what: &str) -> Decision {
    let problems = evaluation.images.iter().filter_map(problem).collect();
    decision(mode, what, problems, evaluation.all_warnings())
}

fn problem(image: &ImageEvaluation) -> Option<Problem> {
    let reason = match image.verdict() {
        Verdict::Pass => return None,
        Verdict::Fail => {
            let violations: Vec<_> = image
                .findings
                .iter()
                .filter(|f| f.state == State::Violation)
                .collect();
            let mut named: Vec<String> = violations
                .iter()
                .take(TOP_VIOLATIONS)
                .map(|f| format!("{} {}", f.finding.id(), f.severity.as_str().to_uppercase()))
                .collect();
            if violations.len() > TOP_VIOLATIONS {
                named.push(format!("{} more", violations.len() - TOP_VIOLATIONS));
            }
            if named.is_empty() {
                // A policy rule with no finding (an unpinned reference under --require-digest).
                named = image.warnings.clone();
            }
            format!("fails the policy: {}", named.join(", "))
        }
        Verdict::Error => format!(
            "cannot be judged: {}",
            image.error().map(|e| e.message()).unwrap_or_default()
        ),
    };
    Some(Problem {
        image: image.image.to_string(),
        digest: image.image.digest.clone(),
        reason,
    })
}

fn decision(mode: ServeMode, what: &str, problems: Vec<Problem>, notes: Vec<String>) -> Decision {
    let line = |p: &Problem| format!("{}: {}", p.image, p.reason);
    let mut warnings: Vec<String> = Vec::new();
    let (allowed, message, result) = match (problems.is_empty(), mode) {
        (true, _) => (true, None, Admission::Allowed),
        (false, ServeMode::Enforce) => {
            let lines: Vec<String> = problems.iter().map(line).collect();
            let message = format!("ecr-scan-gate refused {what}: {}", lines.join("; "));
            (false, Some(escape::terminal(&message)), Admission::Refused)
        }
        (false, ServeMode::Warn) => {
            warnings.extend(
                problems
                    .iter()
                    .map(|p| format!("would be refused (--mode enforce): {}", line(p))),
            );
            (true, None, Admission::Warned)
        }
    };
    warnings.extend(notes);
    let warnings = warnings
        .iter()
        .map(|w| escape::truncate(&escape::terminal(w), WARNING_CHARS).into_owned())
        .collect();
    Decision {
        answer: Answer {
            allowed,
            message,
            warnings,
        },
        result,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{saved, ImageError, ScannedImage, Source};
    use crate::policy::Policy;

    fn evaluation(fixtures: &[&str]) -> Evaluation {
        let files: Vec<String> = fixtures
            .iter()
            .map(|f| format!("{}/fixtures/{f}", env!("CARGO_MANIFEST_DIR")))
            .collect();
        let mut images = Vec::new();
        for file in files {
            images.extend(saved::read_inputs(&[file]).unwrap());
        }
        crate::judge::evaluate(images, &Policy::default(), crate::timestamp::today_utc())
    }

    #[test]
    fn a_clean_image_is_allowed_in_both_modes() {
        let clean = evaluation(&["clean-scan.json"]);
        for mode in [ServeMode::Enforce, ServeMode::Warn] {
            let d = decide(&clean, mode, "Pod shop/web");
            assert!(d.answer.allowed);
            assert_eq!(d.result, Admission::Allowed);
            assert!(d.problems.is_empty() && d.answer.message.is_none());
        }
    }

    #[test]
    fn a_violation_refuses_in_enforce_mode_naming_image_digest_and_top_findings() {
        let failing = evaluation(&["clean-scan.json", "basic-findings.json"]);
        let d = decide(&failing, ServeMode::Enforce, "Deployment shop/web");
        assert!(!d.answer.allowed);
        assert_eq!(d.result, Admission::Refused);
        assert_eq!(
            d.problems.len(),
            1,
            "only the failing image: {:?}",
            d.problems
        );
        let message = d.answer.message.unwrap();
        let digest = failing.images[1].image.digest.clone().unwrap();
        assert!(
            message.starts_with("ecr-scan-gate refused Deployment shop/web: "),
            "{message}"
        );
        assert!(message.contains(&digest), "{message}");
        let top = &failing.images[1]
            .findings
            .iter()
            .find(|f| f.state == State::Violation)
            .unwrap()
            .finding
            .id();
        assert!(message.contains(top), "{message}");
        assert!(
            message.contains("CRITICAL") || message.contains("HIGH"),
            "{message}"
        );
    }

    #[test]
    fn warn_mode_allows_what_enforce_refuses_and_says_so() {
        let failing = evaluation(&["basic-findings.json"]);
        let d = decide(&failing, ServeMode::Warn, "Pod shop/web");
        assert!(d.answer.allowed);
        assert_eq!(d.result, Admission::Warned);
        assert!(d.answer.message.is_none());
        assert!(d.answer.warnings[0].starts_with("would be refused (--mode enforce): "));
        assert!(d
            .answer
            .warnings
            .iter()
            .all(|w| w.chars().count() <= WARNING_CHARS));
    }

    #[test]
    fn an_image_that_cannot_be_judged_fails_closed() {
        let images = vec![ScannedImage::failed(
            Default::default(),
            Source::Ecr {
                reference: "app:v1".into(),
                placements: Vec::new(),
            },
            None,
            ImageError::scan("the scan of app:v1 is IN_PROGRESS"),
        )];
        let unusable =
            crate::judge::evaluate(images, &Policy::default(), crate::timestamp::today_utc());
        let d = decide(&unusable, ServeMode::Enforce, "Pod shop/web");
        assert!(!d.answer.allowed);
        assert!(d
            .answer
            .message
            .unwrap()
            .contains("cannot be judged: the scan of app:v1 is IN_PROGRESS"));
        let d = decide(&unusable, ServeMode::Warn, "Pod shop/web");
        assert!(d.answer.allowed);
        assert!(d.answer.warnings[0].contains("IN_PROGRESS"));
        let d = Decision::undecided(
            ServeMode::Enforce,
            "Pod shop/web",
            "no decision within 8s".into(),
        );
        assert!(!d.answer.allowed && d.answer.message.unwrap().contains("no decision within 8s"));
    }

    #[test]
    fn untrusted_text_reaches_kubectl_escaped_and_warnings_stay_short() {
        let d = decision(
            ServeMode::Warn,
            "Pod x",
            Vec::new(),
            vec![format!("\u{1b}[31mred{}", "é".repeat(400))],
        );
        let w = &d.answer.warnings[0];
        assert!(!w.contains('\u{1b}'), "{w}");
        assert_eq!(w.chars().count(), WARNING_CHARS);
    }
}
