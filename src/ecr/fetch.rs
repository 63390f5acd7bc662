//! DescribeImageScanFindings: one page into the project's model, and every further page with
//! our own loop (the SDK paginator stops silently when a `nextToken` repeats; a partial read
//! must never judge).

use std::collections::{BTreeMap, HashSet};

use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput;
use aws_sdk_ecr::types::{EnhancedImageScanFinding, ImageScanFinding};

use super::client::RegionClient;
use super::errors::CallError;
use super::resolve::{describe, identifier};
use crate::findings::record::{
    Attribute, BasicRecord, CvssRecord, EnhancedRecord, ScoreCvss, ScoreDetails,
    VulnerabilityDetails, VulnerablePackage,
};
use crate::findings::status::{classify, Usability};
use crate::findings::{Finding, ImageError, ImageId, ScanInfo, ScanKind};

/// Basic scans accept up to 1000 per page; enhanced ones return at most 100 whatever we ask.
const PAGE_SIZE: i32 = 1000;
/// A guard against a service that hands out fresh tokens forever.
const MAX_PAGES: usize = 100_000;

/// One page of findings, already in our model.
pub struct Page {
    pub scan: ScanInfo,
    pub findings: Vec<Finding>,
    pub counts: BTreeMap<String, u64>,
    pub next_token: Option<String>,
}

pub enum PageError {
    /// No scan exists (yet) for this image.
    ScanNotFound,
    /// Throttling, a server error or the network, after the SDK's own retries: the waiter may
    /// try again before its deadline.
    Transient(ImageError),
    Failed(ImageError),
}

/// Every finding of a usable scan.
pub struct Read {
    pub scan: ScanInfo,
    pub findings: Vec<Finding>,
    pub counts: BTreeMap<String, u64>,
}

pub async fn page(
    client: &RegionClient,
    image: &ImageId,
    token: Option<String>,
) -> Result<Page, PageError> {
    let output = client
        .client
        .describe_image_scan_findings()
        .repository_name(&image.repository)
        .set_registry_id(image.registry_id.clone())
        .image_id(identifier(image))
        .max_results(PAGE_SIZE)
        .set_next_token(token)
        .send()
        .await
        .map_err(|e| {
            let e = CallError::from_sdk(e);
            if e.code() == Some("ScanNotFoundException") {
                return PageError::ScanNotFound;
            }
            let transient = e.is_transient();
            let error = e.into_image_error("ecr:DescribeImageScanFindings", &describe(image));
            if transient {
                PageError::Transient(error)
            } else {
                PageError::Failed(error)
            }
        })?;
    into_page(output, image).map_err(PageError::Failed)
}

/// Reads the pages after `first` (which the waiter already fetched) and returns them all.
pub async fn all_findings(
    client: &RegionClient,
    image: &ImageId,
    first: Page,
) -> Result<Read, ImageError> {
    let Page {
        scan,
        mut findings,
        counts,
        mut next_token,
    } = first;
    let mut seen = HashSet::new();
    let mut pages = 1;
    while let Some(token) = next_token.take() {
        if !seen.insert(token.clone()) || pages >= MAX_PAGES {
            return Err(ImageError::aws(format!(
                "ecr:DescribeImageScanFindings repeated a nextToken after {pages} page(s) for {}: refusing to judge a partial read",
                describe(image)
            )));
        }
        let page = match page(client, image, Some(token)).await {
            Ok(page) => page,
            Err(PageError::Failed(e) | PageError::Transient(e)) => return Err(e),
            Err(PageError::ScanNotFound) => {
                return Err(ImageError::aws(format!(
                    "the scan of {} disappeared while its findings were being read (page {})",
                    describe(image),
                    pages + 1
                )))
            }
        };
        pages += 1;
        tracing::debug!(image = %image, page = pages, findings = page.findings.len(), "findings page");
        findings.extend(page.findings);
        next_token = page.next_token;
    }
    Ok(Read {
        scan,
        findings,
        counts,
    })
}

fn into_page(output: DescribeImageScanFindingsOutput, image: &ImageId) -> Result<Page, ImageError> {
    let malformed = |what: &str| {
        ImageError::aws(format!(
            "ecr:DescribeImageScanFindings answered without {what} for {}: an empty or malformed response is never a pass",
            describe(image)
        ))
    };
    let status = output
        .image_scan_status
        .ok_or_else(|| malformed("imageScanStatus"))?;
    let status_text = status
        .status
        .as_ref()
        .map(|s| s.as_str().to_string())
        .ok_or_else(|| malformed("a scan status"))?;
    let scan_findings = output.image_scan_findings;
    let usable = classify(&status_text, None) == Usability::Usable;
    if usable && scan_findings.is_none() {
        return Err(malformed("imageScanFindings for a usable scan"));
    }
    let has_enhanced = scan_findings
        .as_ref()
        .is_some_and(|f| f.enhanced_findings.is_some());
    let completed_at = scan_findings
        .as_ref()
        .and_then(|f| f.image_scan_completed_at)
        .and_then(|t| crate::timestamp::from_epoch_parts(t.secs(), t.subsec_nanos()).ok());
    let scan = ScanInfo {
        kind: ScanKind::detect(has_enhanced, &status_text),
        status: status_text,
        description: status.description,
        completed_at,
    };
    let mut findings = Vec::new();
    let mut counts = BTreeMap::new();
    if let Some(f) = scan_findings {
        for (severity, n) in f.finding_severity_counts.unwrap_or_default() {
            counts.insert(severity.as_str().to_string(), u64::try_from(n).unwrap_or(0));
        }
        findings.extend(
            f.findings
                .unwrap_or_default()
                .into_iter()
                .map(basic_record)
                .map(BasicRecord::into_finding),
        );
        findings.extend(
            f.enhanced_findings
                .unwrap_or_default()
                .into_iter()
                .map(enhanced_record)
                .map(EnhancedRecord::into_finding),
        );
    }
    Ok(Page {
        scan,
        findings,
        counts,
        next_token: output.next_token.filter(|t| !t.is_empty()),
    })
}

fn basic_record(f: ImageScanFinding) -> BasicRecord {
    BasicRecord {
        name: f.name.unwrap_or_else(|| "UNNAMED".to_string()),
        description: f.description,
        uri: f.uri,
        severity: f.severity.map(|s| s.as_str().to_string()),
        attributes: f
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|a| Attribute {
                key: a.key,
                value: a.value,
            })
            .collect(),
    }
}

/// The SDK turns an absent score into 0.0; the record treats 0.0 as "no score" either way.
fn enhanced_record(f: EnhancedImageScanFinding) -> EnhancedRecord {
    EnhancedRecord {
        description: f.description,
        finding_arn: f.finding_arn,
        package_vulnerability_details: f.package_vulnerability_details.map(|d| {
            VulnerabilityDetails {
                vulnerability_id: d.vulnerability_id,
                vulnerable_packages: d
                    .vulnerable_packages
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| VulnerablePackage {
                        name: p.name,
                        version: p.version,
                        release: p.release,
                        epoch: p.epoch.map(i64::from),
                        fixed_in_version: p.fixed_in_version,
                    })
                    .collect(),
                cvss: d
                    .cvss
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| CvssRecord {
                        base_score: Some(c.base_score),
                        scoring_vector: c.scoring_vector,
                    })
                    .collect(),
                source_url: d.source_url,
                reference_urls: d.reference_urls.unwrap_or_default(),
            }
        }),
        score: Some(f.score),
        score_details: f.score_details.map(|s| ScoreDetails {
            cvss: s.cvss.map(|c| ScoreCvss {
                score: Some(c.score),
                scoring_vector: c.scoring_vector,
            }),
        }),
        severity: f.severity,
        status: f.status,
        title: f.title,
        fix_available: f.fix_available,
        exploit_available: f.exploit_available,
    }
}
