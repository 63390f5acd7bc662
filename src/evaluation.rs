//! What every reporter reads: the [`Evaluation`] of a run, one [`ImageEvaluation`] per image,
//! one [`JudgedFinding`] per finding with its [`State`] and reason, and the [`Promotion`] that
//! followed a pass. These values are decided in `policy::judge` (and, for tags put, by
//! `ecr::promote`) and nowhere else; a reporter only renders them.

use std::fmt;
use std::ops::{Index, IndexMut};
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::Serialize;

use crate::exit::Outcome;
use crate::findings::{Finding, Image, ImageError, ScanInfo, Severity, Source};
use crate::policy::epss::EpssScore;
use crate::policy::kev::KevEntry;
use crate::policy::FailOn;

/// The verdict reports print: for the run, and for an image.
/// Ordered worst last: pass < fail < error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No finding violates.
    Pass,
    /// At least one finding violates the policy.
    Fail,
    /// An image could not be judged (scan unusable or AWS error).
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
    /// Matched an unexpired allow entry, or suppressed in Inspector.
    Allowed,
    /// No fix exists and `ignore-unfixed` is on.
    IgnoredUnfixed,
    /// Also in the baseline, and not escalated by KEV, EPSS or exploitability.
    PreExisting,
    /// Fails the gate: at or above `fail-on`, or over its severity's budget.
    Violation,
    /// Its severity has a budget, and the count stays within it.
    WithinBudget,
    /// Below `fail-on`, and no budget covers its severity.
    BelowThreshold,
}

impl State {
    /// The kebab-case name reports print, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Allowed => "allowed",
            State::IgnoredUnfixed => "ignored-unfixed",
            State::PreExisting => "pre-existing",
            State::Violation => "violation",
            State::WithinBudget => "within-budget",
            State::BelowThreshold => "below-threshold",
        }
    }
}

/// A finding with the state the policy gave it.
#[derive(Clone, Debug)]
pub struct JudgedFinding {
    /// The finding as read, unchanged (boxed by the reader).
    pub finding: Box<Finding>,
    /// Severity after `treat-unknown-as`; `finding.severity` keeps the original.
    pub severity: Severity,
    /// How the policy judged it.
    pub state: State,
    /// Shared: every finding judged by the same rule carries the same text.
    pub reason: Arc<str>,
    /// Its CISA KEV entry, when a catalog was given and lists it.
    pub kev: Option<KevEntry>,
    /// Its EPSS score, when scores were given and include it.
    pub epss: Option<EpssScore>,
    /// New or unchanged against the baseline; `None` without a baseline.
    pub baseline: Option<BaselineState>,
}

/// A finding against the baseline, as SARIF's `baselineState` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    /// Not in the baseline: this change brought it in.
    New,
    /// In the baseline too.
    Unchanged,
}

impl BaselineState {
    /// The name reports print, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
        }
    }
}

/// How many findings of one severity there are, and how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Every judged finding of this severity, whatever its state (closed ones are not counted).
    pub total: usize,
    /// Allowed by the allowlist or suppressed in Inspector.
    pub allowed: usize,
    /// Ignored because no fix exists (`ignore-unfixed`).
    pub ignored: usize,
    /// Pre-existing: in the baseline and not escalated.
    pub pre_existing: usize,
    /// Violations: any one fails the image.
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
            pre_existing: acc.pre_existing + c.pre_existing,
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
    /// Judged, and no finding violates.
    Pass,
    /// Judged, and at least one finding violates.
    Fail,
    /// Not judged: the scan was unusable or AWS failed.
    Error(ImageError),
}

impl ImageVerdict {
    /// The verdict reports print for the image.
    pub fn verdict(&self) -> Verdict {
        match self {
            ImageVerdict::Pass => Verdict::Pass,
            ImageVerdict::Fail => Verdict::Fail,
            ImageVerdict::Error(_) => Verdict::Error,
        }
    }

    /// The outcome the image contributes to the exit code.
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
    /// The image judged, with its digest and platform once resolved.
    pub image: Image,
    /// Where the findings came from (saved files or ECR).
    pub source: Source,
    /// Scan type, status and time, when a scan was seen.
    pub scan: Option<ScanInfo>,
    /// Pass, fail, or why the image could not be judged.
    pub judgement: ImageVerdict,
    /// Per-severity counts of the judged findings.
    pub counts: SeverityCounts,
    /// Inspector findings already closed: not judged, only counted.
    pub closed: usize,
    /// Most severe first.
    pub findings: Vec<JudgedFinding>,
    /// Warnings about this image: its input, and allow entries that expired on it.
    pub warnings: Vec<String>,
}

impl ImageEvaluation {
    /// Pass, fail or error, as reports print it.
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
    /// Every image, in the order given (a multi-arch index gives one per platform).
    pub images: Vec<ImageEvaluation>,
    /// Warnings about the policy itself (expired or unused allow entries).
    pub warnings: Vec<String>,
    /// Fail threshold in force, shown by reports.
    pub fail_on: FailOn,
    /// `check --promote-tag`: what was asked and what was done; `None` when nothing was asked.
    pub promotion: Option<Promotion>,
}

/// `--promote-tag`: the tags asked for, every one put on a judged digest, and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Promotion {
    /// The tags asked for, in order, without repeats.
    pub tags: Vec<String>,
    /// Each tag now on a judged digest, in the order they were put.
    pub promoted: Vec<Promoted>,
    /// Whether every tag was put, none was tried, or a refusal stopped it.
    pub status: PromotionStatus,
}

/// How a promotion ended.
#[derive(Clone, Debug, PartialEq)]
pub enum PromotionStatus {
    /// Every tag is on every judged digest.
    Done,
    /// The gate did not pass, so nothing was tried (the run keeps its own exit code).
    NotAttempted,
    /// A refusal or failure, after the tags in `promoted`: the run is an AWS error (exit 4).
    Failed(ImageError),
}

/// One tag on one judged digest: the image's own, or its multi-arch index's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promoted {
    /// The repository the tag is in (the judged image's own).
    pub repository: String,
    /// The registry of that repository, as the judged image named it.
    pub registry_id: Option<String>,
    /// Its region.
    pub region: Option<String>,
    /// The tag put.
    pub tag: String,
    /// The digest it now names: exactly the one judged.
    pub digest: String,
    /// The tag was already on this digest, so nothing changed.
    pub unchanged: bool,
}

/// The digest a promotion tags for an image: a platform image of a multi-arch index is
/// deployed through its index, so the index digest; otherwise the image's own.
pub fn promotion_digest(image: &Image) -> Option<&str> {
    image.index_digest.as_deref().or(image.digest.as_deref())
}

impl Promoted {
    /// Whether this tag was put on `image` (or the index it belongs to).
    pub fn names(&self, image: &Image) -> bool {
        promotion_digest(image) == Some(self.digest.as_str())
            && image.repository == self.repository
            && image.registry_id == self.registry_id
            && image.region == self.region
    }
}

impl Promotion {
    /// The promotion error, when a refusal stopped it.
    pub fn error(&self) -> Option<&ImageError> {
        match &self.status {
            PromotionStatus::Failed(e) => Some(e),
            _ => None,
        }
    }
}

impl Evaluation {
    /// The worst image wins (4 > 3 > 1 > 0); a promotion that failed is an AWS error.
    pub fn outcome(&self) -> Outcome {
        let judged = self
            .images
            .iter()
            .map(|i| i.judgement.outcome())
            .max()
            .unwrap_or_default();
        match self.promotion.as_ref().and_then(Promotion::error) {
            Some(e) => judged.max(e.outcome()),
            None => judged,
        }
    }

    /// The tags put on `image` (or its index) by `--promote-tag`.
    pub fn promoted_for<'a>(&'a self, image: &'a Image) -> impl Iterator<Item = &'a Promoted> {
        self.promotion
            .iter()
            .flat_map(|p| p.promoted.iter())
            .filter(move |p| p.names(image))
    }

    /// The process exit code for the run: 0, 1, 3 or 4.
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
            promotion: None,
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
    fn a_failed_promotion_makes_a_passing_run_an_aws_error_and_nothing_else_changes_it() {
        let run = |status: PromotionStatus, judgement: ImageVerdict| Evaluation {
            images: vec![image(judgement)],
            warnings: vec![],
            fail_on: FailOn::None,
            promotion: Some(Promotion {
                tags: vec!["staging".into()],
                promoted: vec![],
                status,
            }),
        };
        let failed = || PromotionStatus::Failed(ImageError::aws("refused"));
        let pass = run(failed(), ImageVerdict::Pass);
        assert_eq!((pass.exit_code(), pass.verdict()), (4, Verdict::Error));
        assert_eq!(
            run(PromotionStatus::Done, ImageVerdict::Pass).exit_code(),
            0
        );
        assert_eq!(
            run(PromotionStatus::NotAttempted, ImageVerdict::Fail).exit_code(),
            1
        );
        let scan = ImageVerdict::Error(ImageError::scan("x"));
        assert_eq!(run(failed(), scan).exit_code(), 4);
    }

    #[test]
    fn a_promoted_index_digest_names_each_of_its_platform_images_only() {
        let index = format!("sha256:{}", "i".repeat(64));
        let platform = Image {
            repository: "app/web".into(),
            digest: Some(format!("sha256:{}", "1".repeat(64))),
            index_digest: Some(index.clone()),
            ..Image::default()
        };
        let promoted = Promoted {
            repository: "app/web".into(),
            registry_id: None,
            region: None,
            tag: "staging".into(),
            digest: index,
            unchanged: false,
        };
        assert!(promoted.names(&platform));
        let other_repo = Image {
            repository: "app/api".into(),
            ..platform.clone()
        };
        assert!(!promoted.names(&other_repo));
        let alone = Image {
            index_digest: None,
            ..platform
        };
        assert!(!promoted.names(&alone));
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
            "{\"critical\":{\"total\":0,\"allowed\":0,\"ignored\":0,\"pre_existing\":0,\"violations\":1}"
        ));
    }
}
