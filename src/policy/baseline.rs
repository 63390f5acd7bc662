//! The baseline: findings an earlier image already had (a version-1 JSON report of this tool,
//! or an image judged live in the same run). A finding whose id and package names appear in it,
//! for the same repository, is pre-existing debt, not something this change brought in.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::file::{offset_of, read_input, ConfigError};
use crate::findings::{Finding, FindingStatus, ScannedImage};

/// What identifies a finding across images: its id and its package names, sorted.
type Key = (String, Vec<String>);

fn key<'a>(id: &str, packages: impl Iterator<Item = &'a str>) -> Key {
    let mut names: Vec<String> = packages.map(str::to_string).collect();
    names.sort_unstable();
    names.dedup();
    (id.trim().to_ascii_uppercase(), names)
}

/// The findings of the baseline image(s), per repository.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    /// Where it came from (`--baseline FILE`, or the image judged live), for reasons.
    pub origin: String,
    /// Said once per run: parts of the baseline that could not be read.
    pub warnings: Vec<String>,
    by_repository: HashMap<String, HashSet<Key>>,
}

/// The baseline findings that apply to one image.
#[derive(Clone, Copy, Debug)]
pub struct BaselineFor<'a>(&'a HashSet<Key>);

impl BaselineFor<'_> {
    /// Whether the baseline has this finding: the same id and the same package names.
    pub fn contains(&self, finding: &Finding) -> bool {
        self.0.contains(&key(finding.id(), finding.package_names()))
    }
}

#[derive(Deserialize)]
struct Report<'a> {
    version: u32,
    tool: Tool,
    #[serde(borrow)]
    images: Vec<&'a RawValue>,
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
        let text = std::str::from_utf8(bytes).map_err(|_| {
            ConfigError::whole(path, format!("not {WHAT}: the file is not UTF-8 text"))
        })?;
        let report: Report =
            serde_json::from_str(text).map_err(|e| ConfigError::json(path, &e, WHAT))?;
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
        for raw in report.images {
            let start = offset_of(text, raw.get());
            let image: ReportImage = serde_json::from_str(raw.get())
                .map_err(|e| ConfigError::json_at(path, text, start, raw.get(), &e, WHAT))?;
            let name = match (&image.tag, &image.digest) {
                (Some(tag), _) => format!("{}:{tag}", image.repository),
                (None, Some(digest)) => format!("{}@{digest}", image.repository),
                (None, None) => image.repository.clone(),
            };
            match image.findings {
                _ if image.error.as_ref().is_some_and(|e| !e.is_null()) => baseline.warnings.push(format!(
                    "baseline {path}: {name} was not judged there, so none of its findings count as pre-existing"
                )),
                Some(findings) => baseline
                    .by_repository
                    .entry(image.repository)
                    .or_default()
                    .extend(
                        findings
                            .iter()
                            .map(|f| key(&f.id, f.packages.iter().map(|p| p.name.as_str()))),
                    ),
                None => {
                    return Err(ConfigError::at(
                        path,
                        text,
                        start,
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
                // A finding Inspector closed is fixed there: bringing it back is new.
                baseline
                    .by_repository
                    .entry(image.image.repository.clone())
                    .or_default()
                    .extend(
                        findings
                            .iter()
                            .filter(|f| f.status != FindingStatus::Closed)
                            .map(|f| key(f.id(), f.package_names())),
                    );
            }
        }
        baseline
    }

    /// The findings that are the baseline of an image of `repository`: the baseline's images
    /// of that repository; a baseline of one repository only (e.g. `--baseline-image
    /// app/web:prod` for a candidate pushed elsewhere) stands for any image; otherwise none.
    pub fn for_repository(&self, repository: &str) -> Option<BaselineFor<'_>> {
        self.by_repository
            .get(repository)
            .or_else(|| {
                let mut only = self.by_repository.values();
                match (only.next(), only.next()) {
                    (Some(one), None) => Some(one),
                    _ => None,
                }
            })
            .map(BaselineFor)
    }

    /// How many distinct findings the baseline holds, over all repositories.
    pub fn len(&self) -> usize {
        self.by_repository.values().map(HashSet::len).sum()
    }

    /// Whether the baseline holds no finding.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{test_finding, Package, ScanKind};

    fn finding(id: &str, packages: &[&str]) -> Finding {
        Finding {
            packages: packages
                .iter()
                .map(|p| Package {
                    name: (*p).into(),
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
        let web = baseline.for_repository("app/web").unwrap();
        assert!(web.contains(&finding("cve-1", &["a", "b"])));
        assert!(!web.contains(&finding("CVE-1", &["a"])));
        assert!(!web.contains(&finding("CVE-2", &["a", "b"])));
        // The one repository judged there stands for any other.
        assert!(baseline
            .for_repository("app/other")
            .unwrap()
            .contains(&finding("CVE-1", &["a", "b"])));
        assert!(
            baseline.warnings[0].contains("app/api"),
            "{:?}",
            baseline.warnings
        );
    }

    #[test]
    fn anything_but_our_report_is_refused_with_its_position() {
        let err = Baseline::parse(br#"{"imageScanFindings": {}}"#, "b.json").unwrap_err();
        assert!(err.to_string().starts_with("b.json:1:"), "{err}");
        let err = Baseline::parse(
            br#"{"version": 2, "tool": {"name": "ecr-scan-gate"}, "images": []}"#,
            "b.json",
        )
        .unwrap_err();
        assert!(err.to_string().contains("version 2"), "{err}");
        let err = Baseline::parse(
            b"{\"version\": 1, \"tool\": {\"name\": \"ecr-scan-gate\"},\n \"images\": [\n  {\"repository\": \"r\", \"error\": null}]}",
            "b.json",
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("b.json:3:3:") && err.to_string().contains("not of `wait`"),
            "{err}"
        );
        let err = Baseline::parse(
            b"{\"version\": 1, \"tool\": {\"name\": \"ecr-scan-gate\"},\n \"images\": [\n  {\"repository\": 7}]}",
            "b.json",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("b.json:3:18:"), "{err}");
    }

    #[test]
    fn a_live_baseline_keeps_each_repository_apart_and_skips_closed_findings() {
        let image = |repository: &str, findings: Vec<Finding>| {
            crate::findings::test_image(repository, ScanKind::Enhanced, findings)
        };
        let closed = Finding {
            status: FindingStatus::Closed,
            ..finding("CVE-FIXED", &["p"])
        };
        let baseline = Baseline::from_images(
            "image app/a:prod".into(),
            &[
                image("app/a", vec![finding("CVE-A", &["p"]), closed]),
                image("app/b", vec![finding("CVE-B", &["p"])]),
            ],
        );
        let a = baseline.for_repository("app/a").unwrap();
        assert!(a.contains(&finding("CVE-A", &["p"])));
        assert!(
            !a.contains(&finding("CVE-B", &["p"])),
            "app/b's debt is not app/a's"
        );
        assert!(
            !a.contains(&finding("CVE-FIXED", &["p"])),
            "fixed in the baseline: new again"
        );
        assert!(
            baseline.for_repository("app/c").is_none(),
            "two repositories, neither is app/c"
        );
        assert_eq!(baseline.len(), 2);
    }
}
