//! SDK finding types into the records the saved-JSON reader also produces, so both paths share
//! one normalisation into [`crate::findings::Finding`].

use std::collections::BTreeMap;

use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput;
use aws_sdk_ecr::types::{EnhancedImageScanFinding, ImageScanFinding};

use crate::ecr::api::{ApiError, FindingsPage};
use crate::findings::record::{
    Attribute, BasicRecord, CvssRecord, EnhancedRecord, ScoreCvss, ScoreDetails,
    VulnerabilityDetails, VulnerablePackage,
};
use crate::findings::{Image, ScanInfo, ScanKind};

/// One `DescribeImageScanFindings` answer in the project's model, with the `Date` it was sent
/// at (RFC 3339, when the answer had one); a missing status is a bad answer, never a pass.
pub fn findings_page(
    output: DescribeImageScanFindingsOutput,
    image: &Image,
    server_date: Option<String>,
) -> Result<FindingsPage, ApiError> {
    let malformed = |what: &str| ApiError::malformed_findings(image, what);
    let status = output
        .image_scan_status
        .ok_or_else(|| malformed("imageScanStatus"))?;
    let status_text = status
        .status
        .as_ref()
        .map(|s| s.as_str().to_string())
        .ok_or_else(|| malformed("a scan status"))?;
    let scan_findings = output.image_scan_findings;
    let basic_list = scan_findings.as_ref().is_some_and(|f| f.findings.is_some());
    let enhanced_list = scan_findings
        .as_ref()
        .is_some_and(|f| f.enhanced_findings.is_some());
    let completed_at = scan_findings
        .as_ref()
        .and_then(|f| f.image_scan_completed_at)
        .and_then(|t| crate::timestamp::from_epoch_parts(t.secs(), t.subsec_nanos()).ok());
    let scan = ScanInfo {
        kind: ScanKind::detect(enhanced_list, &status_text),
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
    Ok(FindingsPage {
        scan,
        basic_list,
        enhanced_list,
        findings,
        counts,
        next_token: output.next_token.filter(|t| !t.is_empty()),
        server_date,
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
                related_vulnerabilities: d.related_vulnerabilities.unwrap_or_default(),
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
