//! GitLab container-scanning report (`gl-container-scanning-report.json`, schema 15.x; the
//! schema ships in `fixtures/schemas/`). Each finding is one vulnerability; the gate's state
//! and reason travel in `details` so GitLab shows why a finding did or did not fail the job.

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::findings::{ScanKind, Severity};
use crate::policy::{Evaluation, ImageEvaluation, JudgedFinding};

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

/// `now` is `YYYY-MM-DDTHH:MM:SS` in UTC, the only form the schema accepts.
pub fn write(eval: &Evaluation, out: &mut dyn Write, now: &str) -> io::Result<()> {
    let mut messages: Vec<Value> = Vec::new();
    for image in &eval.images {
        if let Some(error) = &image.error {
            messages.push(
                json!({"level": "fatal", "value": format!("{}: {}", image.image, error.message)}),
            );
        }
    }
    for warning in eval.all_warnings() {
        messages.push(json!({"level": "warn", "value": warning}));
    }
    let enhanced = eval.images.iter().any(|i| {
        i.scan
            .as_ref()
            .is_some_and(|s| s.kind == ScanKind::Enhanced)
    });
    let vulnerabilities: Vec<Value> = eval
        .images
        .iter()
        .flat_map(|image| image.findings.iter().map(move |j| vulnerability(image, j)))
        .collect();
    let report = json!({
        "version": SCHEMA_VERSION,
        "scan": {
            "analyzer": {
                "id": "ecr-scan-gate",
                "name": "ecr-scan-gate",
                "version": env!("CARGO_PKG_VERSION"),
                "url": env!("CARGO_PKG_REPOSITORY"),
                "vendor": {"name": "ecr-scan-gate"}
            },
            "scanner": {
                "id": if enhanced { "amazon-inspector" } else { "amazon-ecr-basic" },
                "name": if enhanced { "Amazon Inspector (ECR enhanced scanning)" } else { "Amazon ECR basic scanning" },
                "version": "2015-09-21",
                "vendor": {"name": "Amazon Web Services"}
            },
            "type": "container_scanning",
            "start_time": now,
            "end_time": now,
            "status": if eval.images.iter().all(|i| i.error.is_none()) { "success" } else { "failure" },
            "messages": messages,
        },
        "vulnerabilities": vulnerabilities,
    });
    serde_json::to_writer_pretty(&mut *out, &report)?;
    out.write_all(b"\n")
}

fn image_name(image: &ImageEvaluation) -> String {
    let i = &image.image;
    let mut name = i.repository.clone();
    if let Some(tag) = &i.tag {
        name = format!("{name}:{tag}");
    } else if let Some(digest) = &i.digest {
        name = format!("{name}@{digest}");
    }
    name
}

fn vulnerability(image: &ImageEvaluation, j: &JudgedFinding) -> Value {
    let f = &j.finding;
    let first = f.packages.first();
    let package = first
        .map(|p| p.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    let version = first
        .and_then(|p| p.version.clone())
        .unwrap_or_else(|| "unknown".to_string());
    let fixes: Vec<String> = f
        .packages
        .iter()
        .filter_map(|p| {
            p.fixed_in
                .as_ref()
                .map(|v| format!("Upgrade {} to {v}", p.name))
        })
        .collect();
    let mut description = f.description.clone().unwrap_or_default();
    if f.packages.len() > 1 {
        let all: Vec<String> = f
            .packages
            .iter()
            .map(|p| {
                format!("{} {}", p.name, p.version.as_deref().unwrap_or(""))
                    .trim_end()
                    .to_string()
            })
            .collect();
        description.push_str(&format!("\n\nAffected packages: {}", all.join(", ")));
    }
    let identifier_type = if f.id.starts_with("CVE-") {
        "cve"
    } else {
        "ecr"
    };
    let mut identifier = json!({"type": identifier_type, "name": f.id, "value": f.id});
    let url = f.url.as_deref().and_then(crate::report::escape::url);
    if let Some(url) = &url {
        identifier["url"] = json!(url);
    }
    let id = uuid_like(&[
        &image.image.repository,
        image.image.digest.as_deref().unwrap_or(""),
        image.image.platform.as_deref().unwrap_or(""),
        &f.id,
        &package,
        &version,
    ]);
    let mut v = json!({
        "id": id,
        "name": crate::report::escape::truncate(f.title.as_deref().unwrap_or(&f.id), 255),
        "description": crate::report::escape::truncate(&description, 1_000_000),
        "severity": severity(j.severity),
        "identifiers": [identifier],
        "location": {
            "dependency": {"package": {"name": package}, "version": version},
            "operating_system": "unknown",
            "image": image_name(image),
        },
        "details": {
            "gate_state": {"type": "text", "name": "Gate state", "value": j.state.as_str()},
            "gate_reason": {"type": "text", "name": "Gate reason", "value": j.reason},
        },
    });
    if !fixes.is_empty() {
        v["solution"] = json!(crate::report::escape::truncate(&fixes.join("; "), 7000));
    }
    if let Some(url) = url {
        v["links"] = json!([{"url": url}]);
    }
    v
}

/// A stable id in UUID shape, so GitLab tracks the same finding across pipelines.
fn uuid_like(parts: &[&str]) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3 ^ 0x5bd1_e995);
        }
    }
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
