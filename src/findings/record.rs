//! The raw shape of one ECR finding, basic (`ImageScanFinding`) or enhanced
//! (`EnhancedImageScanFinding`), and its normalisation into a [`Finding`]. The saved-JSON
//! reader deserialises these records; the live ECR reader fills them from SDK types; both then
//! share this one mapping. Inside [`sharing`] (the saved-JSON reader's threads), the texts
//! findings repeat are shared rather than copied.

use std::cell::RefCell;
use std::collections::HashSet;

use serde::Deserialize;

use super::{Cvss, Finding, FindingStatus, Fix, Package, Text, Texts};

thread_local! {
    /// The distinct texts seen by this thread's [`sharing`] call; `None` outside one.
    static SHARED: RefCell<Option<HashSet<Text>>> = const { RefCell::new(None) };
}

/// Runs `read` with repeated texts shared: every record this thread turns into a [`Finding`]
/// meanwhile gets one copy of each distinct package name, version, CVSS vector and severity
/// label. Only around one read, so a long-running process (`serve`) keeps no table.
pub fn sharing<T>(read: impl FnOnce() -> T) -> T {
    SHARED.with(|s| *s.borrow_mut() = Some(HashSet::new()));
    let result = read();
    SHARED.with(|s| *s.borrow_mut() = None);
    result
}

/// The shared copy of `s` inside [`sharing`]; elsewhere a copy of its own.
fn text(s: String) -> Text {
    SHARED.with(|cell| match cell.borrow_mut().as_mut() {
        Some(seen) => match seen.get(s.as_str()) {
            Some(t) => t.clone(),
            None => {
                let t = Text::from(s);
                seen.insert(t.clone());
                t
            }
        },
        None => Text::from(s),
    })
}

/// One basic finding: an `ImageScanFinding` in `findings[]`.
#[derive(Deserialize)]
pub struct BasicRecord {
    /// `name`: the vulnerability id (basic findings have no title).
    pub name: String,
    /// `description`: the scanner's text about the vulnerability.
    pub description: Option<String>,
    /// `uri`: the advisory link.
    pub uri: Option<String>,
    /// `severity`: as ECR writes it (`UNDEFINED` when unknown).
    pub severity: Option<String>,
    /// `attributes`: package name and version and CVSS scores, as key/value pairs.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}

/// One `attributes[]` entry of a basic finding.
#[derive(Deserialize)]
pub struct Attribute {
    /// `key`, e.g. `package_name` or `CVSS3_SCORE`.
    pub key: String,
    /// `value`: may be absent, which never overwrites a value already read.
    pub value: Option<String>,
}

impl BasicRecord {
    /// Normalises into a [`Finding`]: the package from the attributes, CVSS 3 over CVSS 2.
    pub fn into_finding(self) -> Finding {
        let [mut name, mut version, mut score3, mut vector3, mut score2, mut vector2] =
            [const { None }; 6];
        for a in self.attributes {
            let slot = match a.key.as_str() {
                "package_name" => &mut name,
                "package_version" => &mut version,
                "CVSS3_SCORE" => &mut score3,
                "CVSS3_VECTOR" => &mut vector3,
                "CVSS2_SCORE" => &mut score2,
                "CVSS2_VECTOR" => &mut vector2,
                _ => continue,
            };
            if a.value.is_some() {
                *slot = a.value;
            }
        }
        let score = |v: Option<String>| v.and_then(|v| v.parse::<f64>().ok());
        let cvss = match (score(score3), vector3) {
            (None, None) => match (score(score2), vector2) {
                (None, None) => None,
                (score, vector) => Some(Cvss {
                    score,
                    vector: vector.map(text),
                }),
            },
            (score, vector) => Some(Cvss {
                score,
                vector: vector.map(text),
            }),
        };
        let packages = name
            .map(|name| Package {
                name: text(name),
                version: version.map(text),
                fixed_in: None,
            })
            .into_iter()
            .collect();
        let label = self.severity.unwrap_or_default();
        Finding {
            severity: Finding::severity_from_label(&label),
            severity_label: text(label),
            // Basic findings have no title; the name is the vulnerability id.
            texts: Texts::new(
                &self.name,
                None,
                self.description.as_deref(),
                self.uri.as_deref(),
            ),
            aliases: Box::default(),
            packages,
            fix: Fix::Unknown,
            exploit_available: None,
            cvss,
            status: FindingStatus::Active,
        }
    }
}

/// One enhanced finding: an `EnhancedImageScanFinding` in `enhancedFindings[]` (Amazon Inspector).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnhancedRecord {
    /// `description`: Inspector's text about the vulnerability.
    pub description: Option<String>,
    /// `findingArn`: the last resort for an id.
    pub finding_arn: Option<String>,
    /// `packageVulnerabilityDetails`: id, packages, CVSS and links.
    pub package_vulnerability_details: Option<VulnerabilityDetails>,
    /// `score`: Inspector's score; the SDK writes 0.0 for none.
    pub score: Option<f64>,
    /// `scoreDetails`: the CVSS Inspector used, preferred over `score`.
    pub score_details: Option<ScoreDetails>,
    /// `severity`: as Inspector writes it (`UNTRIAGED` when unknown).
    pub severity: Option<String>,
    /// `status`: `ACTIVE`, `SUPPRESSED` or `CLOSED`.
    pub status: Option<String>,
    /// `title`: usually `<id> - <package>`, the fallback for an id.
    pub title: Option<String>,
    /// `fixAvailable`: `YES`, `PARTIAL` or `NO`.
    pub fix_available: Option<String>,
    /// `exploitAvailable`: `YES` or `NO`.
    pub exploit_available: Option<String>,
}

/// `packageVulnerabilityDetails` of an enhanced finding.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnerabilityDetails {
    /// `vulnerabilityId`: the CVE or other id, preferred as the finding's id.
    pub vulnerability_id: Option<String>,
    /// `vulnerablePackages`: every affected package.
    #[serde(default)]
    pub vulnerable_packages: Vec<VulnerablePackage>,
    /// `cvss`: CVSS entries; the first is used when `scoreDetails` has none.
    #[serde(default)]
    pub cvss: Vec<CvssRecord>,
    /// `sourceUrl`: the advisory, preferred as the finding's link.
    pub source_url: Option<String>,
    /// `referenceUrls`: further links; the first is the fallback link.
    #[serde(default)]
    pub reference_urls: Vec<String>,
    /// `relatedVulnerabilities`: other ids of the same vulnerability (GHSA, distribution ids).
    #[serde(default)]
    pub related_vulnerabilities: Vec<String>,
}

/// One `vulnerablePackages[]` entry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnerablePackage {
    /// `name`: the package name.
    pub name: Option<String>,
    /// `version`: without epoch and release, which Inspector writes separately.
    pub version: Option<String>,
    /// `release`: appended to the version as `-release`.
    pub release: Option<String>,
    /// `epoch`: prefixed to the version as `epoch:` when not zero.
    pub epoch: Option<i64>,
    /// `fixedInVersion`: the version that fixes it (Inspector may write NotAvailable).
    pub fixed_in_version: Option<String>,
}

/// One `packageVulnerabilityDetails.cvss[]` entry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CvssRecord {
    /// `baseScore`: 0.0 means none.
    pub base_score: Option<f64>,
    /// `scoringVector`: the CVSS vector string.
    pub scoring_vector: Option<String>,
}

/// `scoreDetails` of an enhanced finding.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreDetails {
    /// `cvss`: the score and vector Inspector used for this finding.
    pub cvss: Option<ScoreCvss>,
}

/// `scoreDetails.cvss`: the CVSS Inspector applied.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreCvss {
    /// `score`: 0.0 means none.
    pub score: Option<f64>,
    /// `scoringVector`: the CVSS vector string.
    pub scoring_vector: Option<String>,
}

impl EnhancedRecord {
    /// Normalises into a [`Finding`]: id, packages, CVSS, link and status, each with its fallbacks.
    pub fn into_finding(mut self) -> Finding {
        // The SDK reports an absent score as 0.0; saved JSON omits it. Both mean "no score".
        self.score = self.score.filter(|s| *s > 0.0);
        let mut details = self.package_vulnerability_details;
        let id = details
            .as_mut()
            .and_then(|d| d.vulnerability_id.take())
            .or_else(|| {
                self.title
                    .as_ref()
                    .map(|t| t.split(" - ").next().unwrap_or(t).to_string())
            })
            .or(self.finding_arn)
            .unwrap_or_else(|| "UNKNOWN".to_string());
        let aliases: Vec<String> = details
            .as_mut()
            .map(|d| {
                let mut related = std::mem::take(&mut d.related_vulnerabilities);
                related.retain(|a| !a.trim().is_empty() && !a.eq_ignore_ascii_case(&id));
                related.sort_unstable();
                related.dedup();
                related
            })
            .unwrap_or_default();
        let packages = details
            .as_mut()
            .map(|d| {
                d.vulnerable_packages
                    .drain(..)
                    .map(enhanced_package)
                    .collect()
            })
            .unwrap_or_default();
        let score = self.score;
        let cvss = self
            .score_details
            .and_then(|s| s.cvss)
            .map(|c| Cvss {
                score: c.score.filter(|s| *s > 0.0).or(score),
                vector: c.scoring_vector.map(text),
            })
            .or_else(|| {
                let c = details.as_mut()?.cvss.drain(..).next()?;
                Some(Cvss {
                    score: c.base_score.filter(|s| *s > 0.0).or(score),
                    vector: c.scoring_vector.map(text),
                })
            })
            .or(score.map(|score| Cvss {
                score: Some(score),
                vector: None,
            }));
        let url =
            details.and_then(|d| d.source_url.or_else(|| d.reference_urls.into_iter().next()));
        let label = self.severity.unwrap_or_default();
        let status = match self
            .status
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("SUPPRESSED") => FindingStatus::Suppressed,
            Some("CLOSED") => FindingStatus::Closed,
            // ACTIVE, absent, or a status added later: judge it rather than drop it.
            _ => FindingStatus::Active,
        };
        Finding {
            texts: Texts::new(
                &id,
                self.title.as_deref(),
                self.description.as_deref(),
                url.as_deref(),
            ),
            aliases: aliases.into_iter().map(Into::into).collect(),
            severity: Finding::severity_from_label(&label),
            severity_label: text(label),
            packages,
            fix: Fix::from_ecr(self.fix_available.as_deref()),
            exploit_available: self
                .exploit_available
                .map(|e| e.eq_ignore_ascii_case("YES")),
            cvss,
            status,
        }
    }
}

/// Inspector splits a version into epoch, version and release; people read them as one.
fn enhanced_package(p: VulnerablePackage) -> Package {
    let version = p.version.map(|mut full| {
        if let Some(epoch) = p.epoch.filter(|e| *e > 0) {
            full.insert_str(0, &format!("{epoch}:"));
        }
        if let Some(release) = p.release.as_deref().filter(|r| !r.is_empty()) {
            full.push('-');
            full.push_str(release);
        }
        full
    });
    Package {
        name: text(p.name.unwrap_or_default()),
        version: version.map(text),
        // Inspector writes a zero epoch ("0:2.5.0-1") that the installed version leaves out.
        fixed_in: p
            .fixed_in_version
            .filter(|v| crate::findings::is_version(v))
            .map(|v| match v.strip_prefix("0:") {
                Some(rest) => rest.to_string(),
                None => v,
            })
            .map(text),
    }
}

impl From<BasicRecord> for Finding {
    fn from(record: BasicRecord) -> Finding {
        record.into_finding()
    }
}

impl From<EnhancedRecord> for Finding {
    fn from(record: EnhancedRecord) -> Finding {
        record.into_finding()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(attributes: &[(&str, Option<&str>)]) -> Finding {
        BasicRecord {
            name: "CVE-2024-1".into(),
            description: None,
            uri: None,
            severity: Some("HIGH".into()),
            attributes: attributes
                .iter()
                .map(|(key, value)| Attribute {
                    key: key.to_string(),
                    value: value.map(Into::into),
                })
                .collect(),
        }
        .into_finding()
    }

    #[test]
    fn basic_attributes_prefer_cvss3_and_fall_back_to_cvss2() {
        let f = basic(&[
            ("package_name", Some("openssl")),
            ("package_version", Some("3.0.11")),
            ("CVSS2_SCORE", Some("5.0")),
            ("CVSS2_VECTOR", Some("AV:N/AC:L/Au:N/C:P/I:N/A:N")),
            ("CVSS3_SCORE", Some("7.5")),
            ("CVSS3_VECTOR", Some("CVSS:3.1/AV:N")),
        ]);
        assert_eq!(f.packages_with_versions(), "openssl 3.0.11");
        let cvss = f.cvss.unwrap();
        assert_eq!(
            (cvss.score, cvss.vector.as_deref()),
            (Some(7.5), Some("CVSS:3.1/AV:N"))
        );

        let f = basic(&[("CVSS2_SCORE", Some("5.0")), ("CVSS3_SCORE", None)]);
        assert_eq!(f.cvss.unwrap().score, Some(5.0));
        assert!(f.packages.is_empty());
    }

    #[test]
    fn basic_attributes_without_a_value_do_not_overwrite_one() {
        let f = basic(&[("package_name", Some("zlib")), ("package_name", None)]);
        assert_eq!(f.package_list(), "zlib");
        assert_eq!(basic(&[]).cvss, None);
    }
}
