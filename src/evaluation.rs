//! What every reporter reads: the [`Evaluation`] of a run, one [`ImageEvaluation`] per image,
//! one [`JudgedFinding`] per finding with its [`State`] and reason. These values are decided in
//! `policy::judge` and nowhere else; a reporter only renders them.

use std::fmt;
use std::ops::{Index, IndexMut};
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::Serialize;

use crate::exit::Outcome;
use crate::findings::{Finding, Image, ImageError, ScanInfo, Severity, Source};
use crate::policy::FailOn;

/// The verdict reports print: for the run, and for an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Error,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        })
    }
}

/// The one state each finding ends in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Allowed,
    IgnoredUnfixed,
    Violation,
    WithinBudget,
    BelowThreshold,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Allowed => "allowed",
            State::IgnoredUnfixed => "ignored-unfixed",
            State::Violation => "violation",
            State::WithinBudget => "within-budget",
            State::BelowThreshold => "below-threshold",
        }
    }
}

/// A finding with the state the policy gave it.
#[derive(Clone, Debug)]
pub struct JudgedFinding {
    pub finding: Finding,
    /// Severity after `treat-unknown-as`; `finding.severity` keeps the original.
    pub severity: Severity,
    pub state: State,
    /// Shared: every finding judged by the same rule carries the same text.
    pub reason: Arc<str>,
}

/// How many findings of one severity there are, and how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub allowed: usize,
    pub ignored: usize,
    pub violations: usize,
}

/// Counts for every severity, indexed by severity; serialised most severe first, always all
/// six keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeverityCounts([Counts; 6]);

impl Index<Severity> for SeverityCounts {
    type Output = Counts;
    fn index(&self, severity: Severity) -> &Counts {
        &self.0[severity as usize]
    }
}

impl IndexMut<Severity> for SeverityCounts {
    fn index_mut(&mut self, severity: Severity) -> &mut Counts {
        &mut self.0[severity as usize]
    }
}

impl SeverityCounts {
    /// All severities added up.
    pub fn total(&self) -> Counts {
        self.0.iter().fold(Counts::default(), |acc, c| Counts {
            total: acc.total + c.total,
            allowed: acc.allowed + c.allowed,
            ignored: acc.ignored + c.ignored,
            violations: acc.violations + c.violations,
        })
    }
}

impl Serialize for SeverityCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Severity::ALL.len()))?;
        for severity in Severity::ALL {
            map.serialize_entry(severity.as_str(), &self[severity])?;
        }
        map.end()
    }
}

/// An image's verdict; an image that could not be judged carries its error and nothing else,
/// so "pass with an error" cannot be written down.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageVerdict {
    Pass,
    Fail,
    Error(ImageError),
}

impl ImageVerdict {
    pub fn verdict(&self) -> Verdict {
        match self {
            ImageVerdict::Pass => Verdict::Pass,
            ImageVerdict::Fail => Verdict::Fail,
            ImageVerdict::Error(_) => Verdict::Error,
        }
    }

    pub fn outcome(&self) -> Outcome {
        match self {
            ImageVerdict::Pass => Outcome::Pass,
            ImageVerdict::Fail => Outcome::Violation,
            ImageVerdict::Error(e) => e.outcome(),
        }
    }
}

/// The judged result for one image (one platform of a multi-arch index is one image).
#[derive(Clone, Debug)]
pub struct ImageEvaluation {
    pub image: Image,
    pub source: Source,
    pub scan: Option<ScanInfo>,
    pub judgement: ImageVerdict,
    pub counts: SeverityCounts,
    /// Inspector findings already closed: not judged, only counted.
    pub closed: usize,
    /// Most severe first.
    pub findings: Vec<JudgedFinding>,
    pub warnings: Vec<String>,
}

impl ImageEvaluation {
    pub fn verdict(&self) -> Verdict {
        self.judgement.verdict()
    }

    /// Why the image could not be judged, if it could not.
    pub fn error(&self) -> Option<&ImageError> {
        match &self.judgement {
            ImageVerdict::Error(e) => Some(e),
            _ => None,
        }
    }
}

/// The judged result of a whole run: what every report renders.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub images: Vec<ImageEvaluation>,
    /// Warnings about the policy itself (expired or unused allow entries).
    pub warnings: Vec<String>,
    /// Fail threshold in force, shown by reports.
    pub fail_on: FailOn,
}

impl Evaluation {
    /// The worst image wins (4 > 3 > 1 > 0).
    pub fn outcome(&self) -> Outcome {
        self.images
            .iter()
            .map(|i| i.judgement.outcome())
            .max()
            .unwrap_or_default()
    }

    pub fn exit_code(&self) -> u8 {
        self.outcome().code()
    }

    /// An image that cannot be judged makes the whole run an error.
    pub fn verdict(&self) -> Verdict {
        match self.outcome() {
            Outcome::Pass => Verdict::Pass,
            Outcome::Violation => Verdict::Fail,
            Outcome::ScanUnusable | Outcome::AwsError => Verdict::Error,
        }
    }

    /// Every warning of the run: the policy's, then each image's prefixed with the image.
    pub fn all_warnings(&self) -> Vec<String> {
        let mut all = self.warnings.clone();
        for image in &self.images {
            all.extend(
                image
                    .warnings
                    .iter()
                    .map(|w| format!("{}: {w}", image.image)),
            );
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(judgement: ImageVerdict) -> ImageEvaluation {
        ImageEvaluation {
            image: Image::default(),
            source: Source::File { files: vec![] },
            scan: None,
            judgement,
            counts: SeverityCounts::default(),
            closed: 0,
            findings: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn the_worst_image_decides_the_run() {
        let run = |images: Vec<ImageEvaluation>| Evaluation {
            images,
            warnings: vec![],
            fail_on: FailOn::None,
        };
        let pass = || image(ImageVerdict::Pass);
        let fail = || image(ImageVerdict::Fail);
        let scan = || image(ImageVerdict::Error(ImageError::scan("x")));
        let aws = || image(ImageVerdict::Error(ImageError::aws("x")));
        assert_eq!(run(vec![pass()]).exit_code(), 0);
        assert_eq!(run(vec![pass(), fail()]).verdict(), Verdict::Fail);
        assert_eq!(run(vec![fail(), scan()]).exit_code(), 3);
        let all = run(vec![aws(), scan(), fail(), pass()]);
        assert_eq!((all.exit_code(), all.verdict()), (4, Verdict::Error));
    }

    #[test]
    fn counts_index_by_severity_and_serialise_most_severe_first() {
        let mut counts = SeverityCounts::default();
        counts[Severity::Low].total = 2;
        counts[Severity::Critical].violations = 1;
        assert_eq!(counts.total().total, 2);
        let json = serde_json::to_string(&counts).unwrap();
        let keys: Vec<&str> = [
            "critical",
            "high",
            "medium",
            "low",
            "informational",
            "unknown",
        ]
        .into_iter()
        .filter(|k| json.contains(&format!("\"{k}\"")))
        .collect();
        assert_eq!(keys.len(), 6);
        assert!(json.starts_with(
            "{\"critical\":{\"total\":0,\"allowed\":0,\"ignored\":0,\"violations\":1}"
        ));
    }
}
