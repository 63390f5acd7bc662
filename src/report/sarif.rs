//! SARIF 2.1.0 for GitHub code scanning, built from `serde-sarif` types: one rule per
//! vulnerability id, one result per finding, suppressions for allowed findings, and the run's
//! success or failure in `invocations` so an unusable scan is visible where the upload lands.
//! Rules and results are built and written one at a time, so a large scan is never held twice.

use std::collections::{BTreeMap, HashMap};
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

/// One rule per vulnerability id: the finding it is described from (the highest score wins).
struct Rule<'a> {
    finding: &'a JudgedFinding,
    score: f64,
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

struct Rules<'a>(&'a [Rule<'a>]);

impl Serialize for Rules<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|r| rule(r.finding, r.score)))
    }
}

struct Results<'a> {
    eval: &'a Evaluation,
    /// The rule of each finding, in the order images and findings are iterated.
    rule_of: &'a [usize],
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
                .map(move |(j, &rule_index)| result(&context, j, rule_index))
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

/// The SARIF log; `location` is the file every result points at (default: the repository name).
pub fn write(eval: &Evaluation, out: &mut impl Write, location: Option<&str>) -> io::Result<()> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut rule_index: HashMap<&str, usize> = HashMap::new();
    let mut rule_of: Vec<usize> = Vec::new();
    for j in eval.images.iter().flat_map(|i| &i.findings) {
        let score = score(j);
        let i = *rule_index.entry(&j.finding.id).or_insert_with(|| {
            rules.push(Rule { finding: j, score });
            rules.len() - 1
        });
        if score > rules[i].score {
            rules[i] = Rule { finding: j, score };
        }
        rule_of.push(i);
    }

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
                    rules: Rules(&rules),
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

fn rule(j: &JudgedFinding, score: f64) -> ReportingDescriptor {
    let f = &j.finding;
    let packages = package_list(j);
    let short = match f.title.as_deref() {
        Some(t) if t != &*f.id => truncate(t, 200).into_owned(),
        _ => format!("{} in {packages}", f.id),
    };
    let full = truncate(f.description.as_deref().unwrap_or(&short), 1000).into_owned();
    let mut help = format!("{} ({}) in {packages}.", f.id, j.severity);
    help.push_str(&fixed_in_sentence(f));
    let link = f.url.as_deref().and_then(url);
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
        f.id,
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
            &f.id,
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
