//! Our own JSON report (`"version": 1`), described by `fixtures/schemas/report-v1.schema.json`.

use std::io::{self, Write};

use serde::Serialize;

use crate::evaluation::{
    BaselineState, Evaluation, ImageEvaluation, JudgedFinding, Promotion, PromotionStatus,
    SeverityCounts, Verdict,
};
use crate::findings::{Cvss, ImageError, Package, ScanInfo, Source};

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    tool: Tool,
    verdict: Verdict,
    exit_code: u8,
    fail_on: String,
    images: Vec<ImageReport<'a>>,
    warnings: Vec<String>,
    /// `null` unless `--promote-tag` was given.
    promotion: Option<PromotionReport<'a>>,
}

#[derive(Serialize)]
struct PromotionReport<'a> {
    tags: &'a [String],
    /// `promoted`, `not-promoted` (the gate did not pass) or `failed`.
    status: &'static str,
    error: Option<&'a ImageError>,
}

/// One tag on the digest judged (the index's for a platform image).
#[derive(Serialize)]
struct PromotedReport<'a> {
    tag: &'a str,
    digest: &'a str,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct ImageReport<'a> {
    repository: &'a str,
    registry_id: Option<&'a str>,
    region: Option<&'a str>,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    platform: Option<&'a str>,
    index_digest: Option<&'a str>,
    source: &'a Source,
    /// Every place a deployment file names the image (`check --images-from`).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    sources: &'a [crate::deploy::plan::Placement],
    scan: Option<&'a ScanInfo>,
    verdict: Verdict,
    /// `null` for `wait`, which counts nothing.
    counts: Option<&'a SeverityCounts>,
    closed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<Findings<'a>>,
    warnings: &'a [String],
    error: Option<&'a ImageError>,
    promoted: Vec<PromotedReport<'a>>,
}

/// Written one finding at a time rather than collected first.
struct Findings<'a>(&'a [JudgedFinding]);

impl Serialize for Findings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(finding))
    }
}

#[derive(Serialize)]
struct Finding<'a> {
    id: &'a str,
    aliases: &'a [Box<str>],
    severity: &'static str,
    original_severity: String,
    package: Option<&'a str>,
    version: Option<&'a str>,
    fixed_in: Option<&'a str>,
    packages: &'a [Package],
    state: &'static str,
    reason: &'a str,
    fix_available: Option<crate::findings::Fix>,
    exploit_available: Option<bool>,
    kev: bool,
    kev_date_added: Option<String>,
    epss: Option<f64>,
    epss_percentile: Option<f64>,
    baseline: Option<BaselineState>,
    status: crate::findings::FindingStatus,
    cvss: Option<&'a Cvss>,
    title: Option<&'a str>,
    description: Option<&'a str>,
    url: Option<&'a str>,
}

/// The JSON report; without `include_findings` (for `wait`) `counts` is null and no image has
/// a `findings` list.
pub fn write(eval: &Evaluation, out: &mut impl Write, include_findings: bool) -> io::Result<()> {
    let report = Report {
        version: 1,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        verdict: eval.verdict(),
        exit_code: eval.exit_code(),
        fail_on: eval.fail_on.to_string(),
        images: eval
            .images
            .iter()
            .map(|i| image(eval, i, include_findings))
            .collect(),
        warnings: eval.all_warnings(),
        promotion: eval.promotion.as_ref().map(promotion),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    out.write_all(b"\n")
}

fn promotion(p: &Promotion) -> PromotionReport<'_> {
    PromotionReport {
        tags: &p.tags,
        status: match p.status {
            PromotionStatus::Done => "promoted",
            PromotionStatus::NotAttempted => "not-promoted",
            PromotionStatus::Failed(_) => "failed",
        },
        error: p.error(),
    }
}

fn image<'a>(
    eval: &'a Evaluation,
    i: &'a ImageEvaluation,
    include_findings: bool,
) -> ImageReport<'a> {
    ImageReport {
        repository: &i.image.repository,
        registry_id: i.image.registry_id.as_deref(),
        region: i.image.region.as_deref(),
        tag: i.image.tag.as_deref(),
        digest: i.image.digest.as_deref(),
        platform: i.image.platform.as_deref(),
        index_digest: i.image.index_digest.as_deref(),
        source: &i.source,
        sources: i.source.placements(),
        scan: i.scan.as_ref(),
        verdict: i.verdict(),
        counts: include_findings.then_some(&i.counts),
        closed: i.closed,
        findings: include_findings.then_some(Findings(&i.findings)),
        warnings: &i.warnings,
        error: i.error(),
        promoted: eval
            .promoted_for(&i.image)
            .map(|p| PromotedReport {
                tag: &p.tag,
                digest: &p.digest,
            })
            .collect(),
    }
}

fn finding(j: &JudgedFinding) -> Finding<'_> {
    let f = &j.finding;
    let first = f.packages.first();
    Finding {
        id: f.id(),
        aliases: &f.aliases,
        severity: j.severity.as_str(),
        original_severity: if f.is_recognised_severity() {
            f.severity.as_str().to_string()
        } else {
            f.severity_label.to_ascii_lowercase()
        },
        package: first.map(|p| p.name.as_str()),
        version: first.and_then(|p| p.version.as_deref()),
        fixed_in: first.and_then(|p| p.fixed_in.as_deref()),
        packages: &f.packages,
        state: j.state.as_str(),
        reason: &j.reason,
        fix_available: f.fix.known(),
        exploit_available: f.exploit_available,
        kev: j.kev.is_some(),
        kev_date_added: j.kev.map(|k| k.date_added.to_string()),
        epss: j.epss.map(|e| e.probability),
        epss_percentile: j.epss.map(|e| e.percentile),
        baseline: j.baseline,
        status: f.status,
        cvss: f.cvss.as_ref(),
        title: f.title(),
        description: f.description(),
        url: f.url(),
    }
}
