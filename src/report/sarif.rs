//! SARIF 2.1.0 for GitHub code scanning, built from `serde-sarif` types: one rule per
//! vulnerability id, one result per finding, suppressions for allowed findings, and the run's
//! success or failure in `invocations` so an unusable scan is visible where the upload lands.
//! Rules and results are built and written one at a time, so a large scan is never held twice.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Serialize, Serializer};
use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, RunAutomationDetails, Suppression,
};

use super::escape::{truncate, url};
use crate::evaluation::{Evaluation, ImageEvaluation, JudgedFinding, State, Verdict};
use crate::findings::{ImageError, Severity};

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
        State::BelowThreshold | State::Allowed | State::IgnoredUnfixed | State::PreExisting => {
            ResultLevel::Note
        }
    }
}

/// A plain-text SARIF message: `[`, `]` and `\\` escaped (SARIF 2.1.0 §3.11.6), so finding text
/// cannot form an embedded link.
fn text(message: impl Into<String>) -> Message {
    let message = message.into();
    let mut escaped = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        if matches!(c, '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    Message::builder().text(escaped).build()
}

fn score(j: &JudgedFinding) -> f64 {
    j.finding
        .cvss
        .as_ref()
        .and_then(|c| c.score)
        .unwrap_or_else(|| default_security_severity(j.severity))
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    automation_details: RunAutomationDetails,
    invocations: Vec<Invocation>,
    results: Results<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Rules<'a>,
}

/// Every rule, as the finding each is described from.
struct Rules<'a> {
    findings: &'a [&'a JudgedFinding],
    described_by: &'a [u32],
}

impl Serialize for Rules<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.described_by
                .iter()
                .map(|&i| rule(self.findings[i as usize])),
        )
    }
}

struct Results<'a> {
    eval: &'a Evaluation,
    /// The rule of each finding, in the order images and findings are iterated.
    rule_of: &'a [u32],
    location: Option<&'a str>,
}

impl Serialize for Results<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut rule_of = self.rule_of;
        serializer.collect_seq(self.eval.images.iter().flat_map(|image| {
            let context = ImageContext::new(image, self.location);
            let (rules, rest) = rule_of.split_at(image.findings.len());
            rule_of = rest;
            image
                .findings
                .iter()
                .zip(rules)
                .map(move |(j, &rule_index)| result(&context, j, rule_index as usize))
        }))
    }
}

/// What every result of one image repeats, computed once per image.
struct ImageContext<'a> {
    image: &'a ImageEvaluation,
    name: String,
    uri: String,
}

impl<'a> ImageContext<'a> {
    fn new(image: &'a ImageEvaluation, location: Option<&str>) -> Self {
        ImageContext {
            image,
            name: image.image.to_string(),
            uri: super::escape::path_uri(location.unwrap_or(&image.image.repository)),
        }
    }
}

/// One rule per vulnerability id, in the order ids first appear, each described from the
/// highest-scored finding of its id (the first of them on a tie): the index of that finding
/// per rule, and the rule of each finding.
fn rules(findings: &[&JudgedFinding]) -> io::Result<(Vec<u32>, Vec<u32>)> {
    let id = |i: usize| findings[i].finding.id();
    // First, each finding points at the first finding of its id.
    let mut rule_of = vec![0; findings.len()];
    let mut runs: Vec<(u32, u32)> = Vec::new();
    super::group_by_id(findings.len(), id, |group| {
        let first = group[0];
        let mut best = (first, score(findings[first as usize]));
        for &k in group {
            let score = score(findings[k as usize]);
            if score > best.1 {
                best = (k, score);
            }
            rule_of[k as usize] = first;
        }
        runs.push((first, best.0));
    })?;
    runs.sort_unstable();
    // Then rules are numbered in order of their first finding. A finding's first comes no later
    // than the finding itself, so its number is known by then.
    let mut next = 0;
    for k in 0..rule_of.len() {
        let first = rule_of[k] as usize;
        rule_of[k] = if first == k {
            next += 1;
            next - 1
        } else {
            rule_of[first]
        };
    }
    Ok((runs.into_iter().map(|(_, best)| best).collect(), rule_of))
}

/// The SARIF log; `location` is the file every result points at (default: the repository name).
pub fn write(eval: &Evaluation, out: &mut impl Write, location: Option<&str>) -> io::Result<()> {
    let findings: Vec<&JudgedFinding> = eval.images.iter().flat_map(|i| &i.findings).collect();
    let (described_by, rule_of) = rules(&findings)?;

    let mut notifications: Vec<Notification> = Vec::new();
    for image in &eval.images {
        if let Some(error) = image.error() {
            let kind = match error {
                ImageError::Aws(_) => "AWS",
                ImageError::ScanUnusable(_) => "scan",
            };
            notifications.push(
                Notification::builder()
                    .level(json!("error"))
                    .message(text(format!(
                        "{}: {kind} error: {}",
                        image.image,
                        error.message()
                    )))
                    .build(),
            );
        }
    }
    // A refused promotion makes the run exit 4 although every image passed: say why.
    if let Some(error) = eval.promotion.as_ref().and_then(|p| p.error()) {
        notifications.push(
            Notification::builder()
                .level(json!("error"))
                .message(text(format!("promotion failed: {}", error.message())))
                .build(),
        );
    }
    for warning in eval.all_warnings() {
        notifications.push(
            Notification::builder()
                .level(json!("warning"))
                .message(text(warning))
                .build(),
        );
    }
    let invocation = Invocation::builder()
        .execution_successful(eval.verdict() != Verdict::Error)
        .exit_code(i64::from(eval.exit_code()))
        .tool_execution_notifications(notifications)
        .build();

    let mut repositories: Vec<&str> = eval
        .images
        .iter()
        .map(|i| i.image.repository.as_str())
        .collect();
    repositories.sort();
    repositories.dedup();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "ecr-scan-gate",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: env!("CARGO_PKG_REPOSITORY"),
                    rules: Rules {
                        findings: &findings,
                        described_by: &described_by,
                    },
                },
            },
            automation_details: RunAutomationDetails::builder()
                .id(format!("ecr-scan-gate/{}/", repositories.join(",")))
                .build(),
            invocations: vec![invocation],
            results: Results {
                eval,
                rule_of: &rule_of,
                location,
            },
        }],
    };
    serde_json::to_writer(&mut *out, &log)?;
    out.write_all(b"\n")
}

fn rule(j: &JudgedFinding) -> ReportingDescriptor {
    let f = &j.finding;
    let score = score(j);
    let packages = package_list(j);
    let short = match f.title() {
        Some(t) if t != f.id() => truncate(t, 200).into_owned(),
        _ => format!("{} in {packages}", f.id()),
    };
    let full = truncate(f.description().unwrap_or(&short), 1000).into_owned();
    let mut help = format!("{} ({}) in {packages}.", f.id(), j.severity);
    help.push_str(&fixed_in_sentence(f));
    let link = f.url().and_then(url);
    if let Some(link) = &link {
        help.push_str(&format!(" More: {link}"));
    }
    let mut tags = vec![
        "security".to_string(),
        "vulnerability".to_string(),
        j.severity.to_string(),
    ];
    // KEV is a fact about the vulnerability, so it belongs on the rule, where code scanning
    // shows tags and filters by them.
    if j.kev.is_some() {
        tags.push("kev".to_string());
    }
    let properties = PropertyBag::builder()
        .tags(tags)
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
    let mut rule = ReportingDescriptor::builder()
        .id(f.id())
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
    rule.help_uri = link;
    rule
}

fn package_list(j: &JudgedFinding) -> String {
    let list = j.finding.packages_with_versions();
    if list.is_empty() {
        "the image".to_string()
    } else {
        list
    }
}

/// ` Fixed in openssl 3.0.13, zlib 1.3.` or nothing when no fix is known.
fn fixed_in_sentence(f: &crate::findings::Finding) -> String {
    let fixes: Vec<String> = f.fixes().map(|(name, v)| format!("{name} {v}")).collect();
    if fixes.is_empty() {
        String::new()
    } else {
        format!(" Fixed in {}.", fixes.join(", "))
    }
}

fn result(context: &ImageContext, j: &JudgedFinding, rule_index: usize) -> SarifResult {
    let image = context.image;
    let f = &j.finding;
    let mut message = format!(
        "{} ({}) in {} of image {}: {} ({}).",
        f.id(),
        j.severity,
        package_list(j),
        context.name,
        j.state.as_str(),
        j.reason
    );
    message.push_str(&fixed_in_sentence(f));
    let physical = PhysicalLocation::builder()
        .artifact_location(ArtifactLocation::builder().uri(context.uri.clone()).build())
        .region(Region::builder().start_line(1).build())
        .build();
    let packages: Vec<&str> = f.packages.iter().map(|p| p.name.as_str()).collect();
    let fingerprint = format!(
        "{:016x}",
        super::fingerprint(&[
            &image.image.repository,
            // Two images of one repository are two alerts; the tag (else the digest) keeps an
            // alert the same across runs that check the same tag.
            image
                .image
                .tag
                .as_deref()
                .or(image.image.digest.as_deref())
                .unwrap_or(""),
            image.image.platform.as_deref().unwrap_or(""),
            f.id(),
            &packages.join(","),
        ])
    );
    let mut props = BTreeMap::from([
        ("state".to_string(), json!(j.state.as_str())),
        ("reason".to_string(), json!(&*j.reason)),
        ("repository".to_string(), json!(image.image.repository)),
    ]);
    if let Some(digest) = &image.image.digest {
        props.insert("digest".to_string(), json!(digest));
    }
    if let Some(platform) = &image.image.platform {
        props.insert("platform".to_string(), json!(platform));
    }
    let mut tags = Vec::new();
    if let Some(kev) = j.kev {
        props.insert("kev".to_string(), json!(true));
        props.insert(
            "kevDateAdded".to_string(),
            json!(kev.date_added.to_string()),
        );
        tags.push("kev".to_string());
    }
    if let Some(epss) = j.epss {
        props.insert("epss".to_string(), json!(epss.probability));
        props.insert("epssPercentile".to_string(), json!(epss.percentile));
    }
    if let Some(exploit) = f.exploit_available {
        props.insert("exploitAvailable".to_string(), json!(exploit));
        if exploit {
            tags.push("exploit-available".to_string());
        }
    }
    let mut bag = PropertyBag::builder().additional_properties(props).build();
    if !tags.is_empty() {
        bag.tags = Some(tags);
    }
    let mut result = SarifResult::builder()
        .rule_id(f.id())
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
        .properties(bag)
        .build();
    // Code scanning reads baselineState; it is set on every result once a baseline is given.
    result.baseline_state = j.baseline.map(|b| json!(b.as_str()));
    if j.state == State::Allowed {
        result.suppressions = Some(vec![Suppression::builder()
            .kind(json!("external"))
            .justification(j.reason.to_string())
            .build()]);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{test_finding, test_image, Cvss, Finding, ScanKind, Texts};
    use crate::policy::Policy;

    /// Rules come in the order their ids first appear, each described by its highest-scored
    /// finding (the first of them on a tie), and every finding points at its id's rule.
    #[test]
    fn one_rule_per_id_in_order_of_first_appearance_described_by_the_best_score() {
        let scored = |id: &str, title: &str, score: f64| Finding {
            cvss: Some(Cvss {
                score: Some(score),
                vector: None,
            }),
            texts: Texts::new(id, Some(title), None, None),
            ..test_finding(id, "HIGH")
        };
        let image = test_image(
            "app/web",
            ScanKind::Basic,
            vec![
                scored("B", "b5", 5.0),
                scored("A", "a7", 7.0),
                scored("B", "b9", 9.0),
                scored("C", "c1", 1.0),
                scored("A", "a7 again", 7.0),
            ],
        );
        let eval = crate::judge::evaluate(
            vec![image],
            &Policy::default(),
            crate::timestamp::today_utc(),
        );
        // The judge sorts findings; put them back in the order above.
        let by_title = |title: &str| {
            eval.images[0]
                .findings
                .iter()
                .find(|j| j.finding.title() == Some(title))
                .unwrap()
        };
        let findings: Vec<&JudgedFinding> = ["b5", "a7", "b9", "c1", "a7 again"]
            .into_iter()
            .map(by_title)
            .collect();
        let (described_by, rule_of) = rules(&findings).unwrap();
        assert_eq!(described_by, [2, 1, 3]);
        assert_eq!(rule_of, [0, 1, 0, 2, 1]);
    }
}
