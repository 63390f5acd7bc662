//! GitLab container-scanning report (`gl-container-scanning-report.json`, schema 15.x; the
//! schema ships in `fixtures/schemas/`). Each finding is one vulnerability; the gate's state
//! and reason travel in `details` so GitLab shows why a finding did or did not fail the job.
//! Vulnerabilities are built and written one at a time.

use std::io::{self, Write};

use serde::{Serialize, Serializer};

use std::borrow::Cow;

use super::escape::{truncate, url};
use crate::evaluation::{Evaluation, ImageEvaluation, JudgedFinding, Verdict};
use crate::findings::{ScanKind, Severity};

/// The container-scanning schema version the report declares.
pub const SCHEMA_VERSION: &str = "15.2.4";

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Informational => "Info",
        Severity::Unknown => "Unknown",
    }
}

#[derive(Serialize)]
struct Report<'a> {
    version: &'static str,
    scan: Scan,
    vulnerabilities: Vulnerabilities<'a>,
}

#[derive(Serialize)]
struct Scan {
    analyzer: Tool,
    scanner: Tool,
    #[serde(rename = "type")]
    kind: &'static str,
    start_time: String,
    end_time: String,
    status: &'static str,
    messages: Vec<ScanMessage>,
}

#[derive(Serialize)]
struct Tool {
    id: &'static str,
    name: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'static str>,
    vendor: Vendor,
}

#[derive(Serialize)]
struct Vendor {
    name: &'static str,
}

#[derive(Serialize)]
struct ScanMessage {
    level: &'static str,
    value: String,
}

struct Vulnerabilities<'a>(&'a Evaluation);

impl Serialize for Vulnerabilities<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let names: Vec<String> = self.0.images.iter().map(image_name).collect();
        serializer.collect_seq(self.0.images.iter().zip(&names).flat_map(|(image, name)| {
            image
                .findings
                .iter()
                .map(move |j| vulnerability(image, name, j))
        }))
    }
}

#[derive(Serialize)]
struct Vulnerability<'a> {
    id: String,
    name: Cow<'a, str>,
    description: Cow<'a, str>,
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    solution: Option<String>,
    identifiers: [Identifier<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
    location: VulnLocation<'a>,
    details: Details<'a>,
}

#[derive(Serialize)]
struct Identifier<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Link {
    url: String,
}

#[derive(Serialize)]
struct VulnLocation<'a> {
    dependency: Dependency<'a>,
    operating_system: &'static str,
    image: &'a str,
}

#[derive(Serialize)]
struct Dependency<'a> {
    package: PackageName<'a>,
    version: &'a str,
}

#[derive(Serialize)]
struct PackageName<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Details<'a> {
    gate_state: TextField<'a>,
    gate_reason: TextField<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cisa_kev: Option<TextField<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epss: Option<TextField<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploit_available: Option<TextField<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<TextField<'a>>,
}

#[derive(Serialize)]
struct TextField<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    value: Cow<'a, str>,
}

fn text_field<'a>(name: &'static str, value: impl Into<Cow<'a, str>>) -> TextField<'a> {
    TextField {
        kind: "text",
        name,
        value: value.into(),
    }
}

/// `now` is `YYYY-MM-DDTHH:MM:SS` in UTC, the only form the schema accepts.
pub fn write(eval: &Evaluation, out: &mut impl Write, now: &str) -> io::Result<()> {
    let mut messages: Vec<ScanMessage> = Vec::new();
    for image in &eval.images {
        if let Some(error) = image.error() {
            messages.push(ScanMessage {
                level: "fatal",
                value: format!("{}: {}", image.image, error.message()),
            });
        }
    }
    for warning in eval.all_warnings() {
        messages.push(ScanMessage {
            level: "warn",
            value: warning,
        });
    }
    let enhanced = eval.images.iter().any(|i| {
        i.scan
            .as_ref()
            .is_some_and(|s| s.kind == ScanKind::Enhanced)
    });
    let report = Report {
        version: SCHEMA_VERSION,
        scan: Scan {
            analyzer: Tool {
                id: "ecr-scan-gate",
                name: "ecr-scan-gate",
                version: env!("CARGO_PKG_VERSION"),
                url: Some(env!("CARGO_PKG_REPOSITORY")),
                vendor: Vendor {
                    name: "ecr-scan-gate",
                },
            },
            scanner: Tool {
                id: if enhanced {
                    "amazon-inspector"
                } else {
                    "amazon-ecr-basic"
                },
                name: if enhanced {
                    "Amazon Inspector (ECR enhanced scanning)"
                } else {
                    "Amazon ECR basic scanning"
                },
                version: "2015-09-21",
                url: None,
                vendor: Vendor {
                    name: "Amazon Web Services",
                },
            },
            kind: "container_scanning",
            start_time: now.to_string(),
            end_time: now.to_string(),
            status: if eval.verdict() == Verdict::Error {
                "failure"
            } else {
                "success"
            },
            messages,
        },
        vulnerabilities: Vulnerabilities(eval),
    };
    serde_json::to_writer(&mut *out, &report)?;
    out.write_all(b"\n")
}

fn image_name(image: &ImageEvaluation) -> String {
    let i = &image.image;
    match (&i.tag, &i.digest) {
        (Some(tag), _) => format!("{}:{tag}", i.repository),
        (None, Some(digest)) => format!("{}@{digest}", i.repository),
        (None, None) => i.repository.clone(),
    }
}

fn vulnerability<'a>(
    image: &ImageEvaluation,
    image_name: &'a str,
    j: &'a JudgedFinding,
) -> Vulnerability<'a> {
    let f = &j.finding;
    let first = f.packages.first();
    let package = first
        .map(|p| p.name.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("unknown");
    let version = first
        .and_then(|p| p.version.as_deref())
        .unwrap_or("unknown");
    let fixes: Vec<String> = f
        .fixes()
        .map(|(name, v)| format!("Upgrade {name} to {v}"))
        .collect();
    let mut description = Cow::Borrowed(f.description().unwrap_or(""));
    if f.packages.len() > 1 {
        description = Cow::Owned(format!(
            "{description}\n\nAffected packages: {}",
            f.packages_with_versions()
        ));
    }
    let description = match description {
        Cow::Borrowed(text) => truncate(text, 1_000_000),
        Cow::Owned(text) => Cow::Owned(truncate(&text, 1_000_000).into_owned()),
    };
    let link = f.url().and_then(url);
    let id = uuid_like(&[
        &image.image.repository,
        image.image.digest.as_deref().unwrap_or(""),
        image.image.platform.as_deref().unwrap_or(""),
        f.id(),
        package,
        version,
    ]);
    Vulnerability {
        id,
        name: truncate(f.title().unwrap_or(f.id()), 255),
        description,
        severity: severity(j.severity),
        solution: (!fixes.is_empty()).then(|| truncate(&fixes.join("; "), 7000).into_owned()),
        identifiers: [Identifier {
            kind: if f.id().starts_with("CVE-") {
                "cve"
            } else {
                "ecr"
            },
            name: f.id(),
            value: f.id(),
            url: link.clone(),
        }],
        links: link.into_iter().map(|url| Link { url }).collect(),
        location: VulnLocation {
            dependency: Dependency {
                package: PackageName { name: package },
                version,
            },
            operating_system: "unknown",
            image: image_name,
        },
        details: Details {
            gate_state: text_field("Gate state", j.state.as_str()),
            gate_reason: text_field("Gate reason", &*j.reason),
            cisa_kev: j
                .kev
                .map(|k| text_field("CISA KEV", format!("listed since {}", k.date_added))),
            epss: j.epss.map(|e| text_field("EPSS", e.describe())),
            exploit_available: f
                .exploit_available
                .map(|e| text_field("Exploit available", if e { "yes" } else { "no" })),
            baseline: j.baseline.map(|b| text_field("Since baseline", b.as_str())),
        },
    }
}

/// An id in UUID shape, unique within the report and the same for the same finding of the same
/// image (GitLab tracks findings across pipelines by identifiers and location, not by this id).
fn uuid_like(parts: &[&str]) -> String {
    let a = super::fingerprint(parts);
    let b = super::fingerprint(&[&a.to_string()]);
    let h = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
