//! The baseline: findings an earlier image already had (a version-1 JSON report of this tool,
//! or an image judged live in the same run). A finding whose id and package names appear in it
//! is pre-existing debt, not something this change brought in.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use super::file::{read_input, ConfigError};
use crate::findings::{Finding, ScannedImage};

/// What identifies a finding across images: its id and its package names, sorted.
type Key = (String, Vec<String>);

fn key<'a>(id: &str, packages: impl Iterator<Item = &'a str>) -> Key {
    let mut names: Vec<String> = packages.map(str::to_string).collect();
    names.sort_unstable();
    names.dedup();
    (id.trim().to_ascii_uppercase(), names)
}

/// The findings of the baseline image(s).
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    /// Where it came from (`--baseline FILE`, or the image judged live), for reasons.
    pub origin: String,
    /// Said once per run: parts of the baseline that could not be read.
    pub warnings: Vec<String>,
    keys: HashSet<Key>,
}

#[derive(Deserialize)]
struct Report {
    version: u32,
    tool: Tool,
    images: Vec<ReportImage>,
}

#[derive(Deserialize)]
struct Tool {
    name: String,
}

#[derive(Deserialize)]
struct ReportImage {
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
    findings: Option<Vec<ReportFinding>>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ReportFinding {
    id: String,
    #[serde(default)]
    packages: Vec<ReportPackage>,
}

#[derive(Deserialize)]
struct ReportPackage {
    name: String,
}

const WHAT: &str = "a version-1 JSON report of ecr-scan-gate (-o json)";

impl Baseline {
    /// Reads a JSON report written by `check` or `evaluate -o json`.
    pub fn load(path: &Path) -> Result<Baseline, ConfigError> {
        let bytes = read_input(path, "the baseline")?;
        Baseline::parse(&bytes, &path.display().to_string())
    }

    /// Parses a JSON report; `path` is only for messages.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Baseline, ConfigError> {
        let report: Report =
            serde_json::from_slice(bytes).map_err(|e| ConfigError::json(path, &e, WHAT))?;
        if report.version != 1 || report.tool.name != env!("CARGO_PKG_NAME") {
            return Err(ConfigError::whole(
                path,
                format!(
                    "not {WHAT}: it says version {} of `{}`",
                    report.version,
                    super::file::shorten(&report.tool.name, 60)
                ),
            ));
        }
        let mut baseline = Baseline {
            origin: path.to_string(),
            ..Baseline::default()
        };
        for image in report.images {
            let name = match (&image.tag, &image.digest) {
                (Some(tag), _) => format!("{}:{tag}", image.repository),
                (None, Some(digest)) => format!("{}@{digest}", image.repository),
                (None, None) => image.repository.clone(),
            };
            match image.findings {
                _ if image.error.as_ref().is_some_and(|e| !e.is_null()) => baseline.warnings.push(format!(
                    "baseline {path}: {name} was not judged there, so none of its findings count as pre-existing"
                )),
                Some(findings) => baseline.keys.extend(
                    findings
                        .iter()
                        .map(|f| key(&f.id, f.packages.iter().map(|p| p.name.as_str()))),
                ),
                None => {
                    return Err(ConfigError::whole(
                        path,
                        format!(
                            "{name} has no findings list: a baseline is the JSON report of `check` or `evaluate`, not of `wait`"
                        ),
                    ))
                }
            }
        }
        Ok(baseline)
    }

    /// The baseline from images read live in this run (`--baseline-image`).
    pub fn from_images(origin: String, images: &[ScannedImage]) -> Baseline {
        let mut baseline = Baseline {
            origin,
            ..Baseline::default()
        };
        for image in images {
            if let Ok(findings) = &image.findings {
                baseline
                    .keys
                    .extend(findings.iter().map(|f| key(&f.id, f.package_names())));
            }
        }
        baseline
    }

    /// Whether the baseline has this finding: the same id and the same package names.
    pub fn contains(&self, finding: &Finding) -> bool {
        self.keys
            .contains(&key(&finding.id, finding.package_names()))
    }

    /// How many distinct findings the baseline holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the baseline holds no finding.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{test_finding, Package};

    fn finding(id: &str, packages: &[&str]) -> Finding {
        Finding {
            packages: packages
                .iter()
                .map(|p| Package {
                    name: p.to_string(),
                    version: Some("1".into()),
                    fixed_in: None,
                })
                .collect(),
            ..test_finding(id, "HIGH")
        }
    }

    #[test]
    fn a_report_gives_id_and_package_names() {
        let baseline = Baseline::parse(
            br#"{"version": 1, "tool": {"name": "ecr-scan-gate", "version": "0.1.0"},
                "images": [{"repository": "app/web", "tag": "prod", "digest": null, "error": null,
                            "findings": [{"id": "CVE-1", "packages": [{"name": "b"}, {"name": "a"}]}]},
                           {"repository": "app/api", "tag": null, "digest": null, "findings": [],
                            "error": {"kind": "scan", "message": "FAILED"}}]}"#,
            "prod.json",
        )
        .unwrap();
        assert!(baseline.contains(&finding("cve-1", &["a", "b"])));
        assert!(!baseline.contains(&finding("CVE-1", &["a"])));
        assert!(!baseline.contains(&finding("CVE-2", &["a", "b"])));
        assert!(
            baseline.warnings[0].contains("app/api"),
            "{:?}",
            baseline.warnings
        );
    }

    #[test]
    fn anything_but_our_report_is_refused() {
        let err = Baseline::parse(br#"{"imageScanFindings": {}}"#, "b.json").unwrap_err();
        assert!(err.to_string().starts_with("b.json:1:"), "{err}");
        let err = Baseline::parse(
            br#"{"version": 2, "tool": {"name": "ecr-scan-gate"}, "images": []}"#,
            "b.json",
        )
        .unwrap_err();
        assert!(err.to_string().contains("version 2"), "{err}");
        let err = Baseline::parse(
            br#"{"version": 1, "tool": {"name": "ecr-scan-gate"}, "images": [{"repository": "r", "error": null}]}"#,
            "b.json",
        )
        .unwrap_err();
        assert!(err.to_string().contains("not of `wait`"), "{err}");
    }
}
