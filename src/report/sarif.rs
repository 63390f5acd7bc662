//! SARIF 2.1.0 for GitHub code scanning, built with `serde-sarif`: one rule per vulnerability
//! id, one result per finding, suppressions for allowed findings, and the run's success or
//! failure in `invocations` so an unusable scan is visible where the upload lands.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, RunAutomationDetails, Sarif, Suppression, Tool,
    ToolComponent,
};

use super::escape::truncate;
use crate::findings::Severity;
use crate::policy::{Evaluation, ImageEvaluation, JudgedFinding, State};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// GitHub's buckets: ≥9 critical, ≥7 high, ≥4 medium, >0 low. Used when a finding has no CVSS.
fn default_security_severity(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Informational | Severity::Unknown => 0.0,
    }
}

fn level(state: State) -> ResultLevel {
    match state {
        State::Violation => ResultLevel::Error,
        State::WithinBudget => ResultLevel::Warning,
        State::BelowThreshold | State::Allowed | State::IgnoredUnfixed => ResultLevel::Note,
    }
}

fn text(message: impl Into<String>) -> Message {
    Message::builder().text(message.into()).build()
}

pub fn write(eval: &Evaluation, out: &mut dyn Write, location: Option<&str>) -> io::Result<()> {
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut rule_index: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    let mut results = Vec::new();
    for image in &eval.images {
        for j in &image.findings {
            let score = j
                .finding
                .cvss
                .as_ref()
                .and_then(|c| c.score)
                .unwrap_or_else(|| default_security_severity(j.severity));
            let index = match rule_index.get_mut(&j.finding.id) {
                Some((i, max)) => {
                    if score > *max {
                        *max = score;
                        rules[*i] = rule(j, score);
                    }
                    *i
                }
                None => {
                    rule_index.insert(j.finding.id.clone(), (rules.len(), score));
                    rules.push(rule(j, score));
                    rules.len() - 1
                }
            };
            results.push(result(image, j, index, location));
        }
    }

    let mut notifications: Vec<Notification> = Vec::new();
    for image in &eval.images {
        if let Some(error) = &image.error {
            notifications.push(
                Notification::builder()
                    .level(json!("error"))
                    .message(text(format!(
                        "{}: {} error: {}",
                        image.image,
                        kind_word(image),
                        error.message
                    )))
                    .build(),
            );
        }
    }
    for warning in eval.all_warnings() {
        notifications.push(
            Notification::builder()
                .level(json!("warning"))
                .message(text(warning))
                .build(),
        );
    }
    let successful = eval.images.iter().all(|i| i.error.is_none());
    let invocation = Invocation::builder()
        .execution_successful(successful)
        .exit_code(i64::from(eval.exit_code))
        .tool_execution_notifications(notifications)
        .build();

    let mut repositories: Vec<&str> = eval
        .images
        .iter()
        .map(|i| i.image.repository.as_str())
        .collect();
    repositories.sort();
    repositories.dedup();
    let automation = RunAutomationDetails::builder()
        .id(format!("ecr-scan-gate/{}/", repositories.join(",")))
        .build();

    let driver = ToolComponent::builder()
        .name("ecr-scan-gate")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .rules(rules)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .automation_details(automation)
        .invocations(vec![invocation])
        .results(results)
        .build();
    let sarif = Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    serde_json::to_writer_pretty(&mut *out, &sarif)?;
    out.write_all(b"\n")
}

fn kind_word(image: &ImageEvaluation) -> &'static str {
    match image.error.as_ref().map(|e| e.kind) {
        Some(crate::findings::ErrorKind::Aws) => "AWS",
        _ => "scan",
    }
}

fn rule(j: &JudgedFinding, score: f64) -> ReportingDescriptor {
    let f = &j.finding;
    let short = match f.title.as_deref() {
        Some(t) if t != f.id => truncate(t, 200),
        _ => format!("{} in {}", f.id, package_list(j)),
    };
    let full = truncate(f.description.as_deref().unwrap_or(&short), 1000);
    let mut help = format!("{}\n\nSeverity: {}.", full, j.severity);
    if let Some(url) = &f.url {
        help.push_str(&format!(" More: {url}"));
    }
    let properties = PropertyBag::builder()
        .tags(vec![
            "security".to_string(),
            "vulnerability".to_string(),
            j.severity.to_string(),
        ])
        .additional_properties(BTreeMap::from([
            (
                "security-severity".to_string(),
                Value::String(format!("{score:.1}")),
            ),
            (
                "precision".to_string(),
                Value::String("very-high".to_string()),
            ),
        ]))
        .build();
    let mut builder = ReportingDescriptor::builder()
        .id(f.id.clone())
        .short_description(MultiformatMessageString::builder().text(short).build())
        .full_description(MultiformatMessageString::builder().text(full).build())
        .help(MultiformatMessageString::builder().text(help).build())
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!("error"))
                .build(),
        )
        .properties(properties)
        .build();
    builder.help_uri = f.url.as_deref().and_then(super::escape::url);
    builder
}

fn package_list(j: &JudgedFinding) -> String {
    let names: Vec<String> = j
        .finding
        .packages
        .iter()
        .map(|p| match &p.version {
            Some(v) => format!("{} {v}", p.name),
            None => p.name.clone(),
        })
        .collect();
    if names.is_empty() {
        "the image".to_string()
    } else {
        names.join(", ")
    }
}

fn result(
    image: &ImageEvaluation,
    j: &JudgedFinding,
    rule_index: usize,
    location: Option<&str>,
) -> SarifResult {
    let f = &j.finding;
    let fixed: Vec<String> = f
        .packages
        .iter()
        .filter_map(|p| p.fixed_in.as_ref().map(|v| format!("{} {v}", p.name)))
        .collect();
    let mut message = format!(
        "{} ({}) in {} of image {}: {} ({}).",
        f.id,
        j.severity,
        package_list(j),
        image.image,
        j.state.as_str(),
        j.reason
    );
    if !fixed.is_empty() {
        message.push_str(&format!(" Fixed in {}.", fixed.join(", ")));
    }
    let uri = location
        .map(str::to_string)
        .unwrap_or_else(|| image.image.repository.clone());
    let physical = PhysicalLocation::builder()
        .artifact_location(ArtifactLocation::builder().uri(uri).build())
        .region(Region::builder().start_line(1).build())
        .build();
    let packages: Vec<String> = f.packages.iter().map(|p| p.name.clone()).collect();
    let fingerprint = fingerprint(&[
        &image.image.repository,
        image.image.platform.as_deref().unwrap_or(""),
        &f.id,
        &packages.join(","),
    ]);
    let mut props = BTreeMap::from([
        ("state".to_string(), json!(j.state.as_str())),
        ("reason".to_string(), json!(j.reason)),
        ("packages".to_string(), json!(f.packages)),
        ("repository".to_string(), json!(image.image.repository)),
    ]);
    if let Some(digest) = &image.image.digest {
        props.insert("digest".to_string(), json!(digest));
    }
    if let Some(platform) = &image.image.platform {
        props.insert("platform".to_string(), json!(platform));
    }
    let mut result = SarifResult::builder()
        .rule_id(f.id.clone())
        .rule_index(rule_index as i64)
        .level(level(j.state))
        .message(text(message))
        .locations(vec![Location::builder()
            .physical_location(physical)
            .build()])
        .partial_fingerprints(BTreeMap::from([(
            "ecrScanGate/v1".to_string(),
            fingerprint,
        )]))
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build();
    if j.state == State::Allowed {
        result.suppressions = Some(vec![Suppression::builder()
            .kind(json!("external"))
            .justification(j.reason.clone())
            .build()]);
    }
    result
}

/// FNV-1a over the parts: stable across runs and builds of the same image, so GitHub keeps
/// one alert per vulnerability and package instead of opening a new one per push.
fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}
