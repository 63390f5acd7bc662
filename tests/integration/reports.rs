//! Every report format for a set of fixtures, written in one run each, checked by validators
//! no one here wrote (SARIF multitool with GitHub's rules, junitparser, check-jsonschema with
//! GitLab's schema and ours) and by the facts GitHub, GitLab and CI test views rely on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{
    fixture, read_json, run, snapshot_text, validate_gitlab, validate_json_report, validate_junit,
    validate_sarif,
};

/// The six reports of one run.
struct Reports {
    _dir: tempfile::TempDir,
    json: PathBuf,
    sarif: PathBuf,
    junit: PathBuf,
    markdown: PathBuf,
    gitlab: PathBuf,
    console: PathBuf,
}

/// Runs `evaluate` once with all six reports written to files, checks the exit code, and
/// checks every report with its validator and its facts.
fn check_all_reports(inputs: &[&str], extra: &[&str], expected_code: i32) -> Reports {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let (json, sarif, junit) = (path("report.json"), path("report.sarif"), path("junit.xml"));
    let (markdown, gitlab, console) = (
        path("summary.md"),
        path("gl-container-scanning-report.json"),
        path("console.txt"),
    );
    let reports = Reports {
        _dir: dir,
        json,
        sarif,
        junit,
        markdown,
        gitlab,
        console,
    };
    let mut args: Vec<String> = vec!["evaluate".into()];
    for (format, file) in [
        ("json", &reports.json),
        ("sarif", &reports.sarif),
        ("junit", &reports.junit),
        ("markdown", &reports.markdown),
        ("gitlab", &reports.gitlab),
        ("console", &reports.console),
    ] {
        args.push("-o".into());
        args.push(format!("{format}={}", file.display()));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(inputs.iter().map(|f| fixture(f)));
    let out = run(&args);
    assert_eq!(out.code, expected_code, "{}", snapshot_text(&out));
    assert!(
        out.stdout.is_empty(),
        "every report went to a file, stdout stays empty: {}",
        out.stdout
    );
    for file in [
        &reports.json,
        &reports.sarif,
        &reports.junit,
        &reports.markdown,
        &reports.gitlab,
        &reports.console,
    ] {
        let len = std::fs::metadata(file)
            .unwrap_or_else(|e| panic!("{} not written: {e}", file.display()))
            .len();
        assert!(len > 0, "{} is empty", file.display());
    }

    let report = read_json(&reports.json);
    assert_eq!(
        report["exit_code"], expected_code,
        "the JSON records the exit code"
    );
    validate_json_report(&reports.json);

    let location = extra
        .iter()
        .position(|a| *a == "--sarif-location")
        .map(|i| extra[i + 1]);
    validate_sarif(&reports.sarif);
    check_sarif_facts(&read_json(&reports.sarif), &report, location);

    if let Some(suites) = validate_junit(&reports.junit) {
        check_junit_facts(&suites, &report);
    }

    validate_gitlab(&reports.gitlab);
    check_gitlab_facts(&read_json(&reports.gitlab), &report);

    let console = std::fs::read_to_string(&reports.console).unwrap();
    assert!(console.contains("Verdict: "), "{console}");
    assert!(
        !console.contains('\u{1b}'),
        "no colour in a console report written to a file"
    );
    let markdown = std::fs::read_to_string(&reports.markdown).unwrap();
    assert!(markdown.starts_with("## ECR scan gate: "), "{markdown}");
    reports
}

/// Every finding of the JSON report as (id, state), sorted.
fn json_findings(report: &Value) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|image| image["findings"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    all.sort();
    all
}

fn check_sarif_facts(log: &Value, report: &Value, location: Option<&str>) {
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "one run per invocation");
    let run = &runs[0];

    let automation = run["automationDetails"]["id"]
        .as_str()
        .expect("automationDetails.id");
    assert!(!automation.trim().is_empty());

    let invocation = &run["invocations"][0];
    assert_eq!(
        invocation["executionSuccessful"],
        report["verdict"] != "error",
        "{invocation:#}"
    );
    assert_eq!(invocation["exitCode"], report["exit_code"]);

    // One rule per vulnerability id, each with a security-severity and the security tag.
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let mut rule_ids = BTreeSet::new();
    for rule in rules {
        let id = rule["id"].as_str().expect("rule id");
        assert!(rule_ids.insert(id), "rule {id} appears twice");
        let score: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap_or_else(|| panic!("rule {id} has no security-severity: {rule:#}"))
            .parse()
            .expect("security-severity is a number in a string");
        assert!(
            (0.0..=10.0).contains(&score),
            "rule {id}: security-severity {score}"
        );
        let tags: Vec<&str> = rule["properties"]["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(tags.contains(&"security"), "rule {id} tags {tags:?}");
        assert!(
            rule["shortDescription"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{rule:#}"
        );
    }
    let finding_ids: BTreeSet<String> = json_findings(report)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        rule_ids
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        finding_ids
    );

    // One result per finding, in the same state as the JSON report says.
    let results = run["results"].as_array().expect("results");
    let mut from_sarif: Vec<(String, String)> = results
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap().to_string(),
                r["properties"]["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    from_sarif.sort();
    assert_eq!(from_sarif, json_findings(report));

    let mut fingerprints = BTreeSet::new();
    for r in results {
        let rule_id = r["ruleId"].as_str().unwrap();
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], rule_id, "ruleIndex points at the rule");
        let state = r["properties"]["state"].as_str().unwrap();
        let expected_level = match state {
            "violation" => "error",
            "within-budget" => "warning",
            _ => "note",
        };
        assert_eq!(r["level"], expected_level, "{r:#}");
        assert!(r["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));

        let locations = r["locations"].as_array().expect("locations");
        assert!(!locations.is_empty(), "result without a location: {r:#}");
        let uri = locations[0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("physical location");
        assert!(!uri.is_empty());
        match location {
            Some(expected) => assert_eq!(uri, expected),
            None => assert_eq!(uri, r["properties"]["repository"].as_str().unwrap()),
        }

        // Fingerprints leave the digest out on purpose (one alert per repository, vulnerability
        // and package across pushes), so they are unique within one image.
        let fps = r["partialFingerprints"]
            .as_object()
            .expect("partialFingerprints");
        assert!(!fps.is_empty());
        let image = (
            r["properties"]["digest"].to_string(),
            r["properties"]["platform"].to_string(),
        );
        let fp = serde_json::to_string(fps).unwrap();
        assert!(
            fingerprints.insert((image, fp)),
            "two results of one image share partialFingerprints: {r:#}"
        );

        let suppressions = r["suppressions"].as_array();
        if state == "allowed" {
            let s = &suppressions
                .unwrap_or_else(|| panic!("allowed result without suppressions: {r:#}"))[0];
            let reason = r["properties"]["reason"].as_str().unwrap();
            assert!(!reason.is_empty());
            assert_eq!(s["justification"], reason);
        } else {
            assert!(
                suppressions.is_none_or(|s| s.is_empty()),
                "only allowed findings are suppressed: {r:#}"
            );
        }
    }
}

fn check_junit_facts(suites: &Value, report: &Value) {
    let suites = suites.as_array().unwrap();
    let images = report["images"].as_array().unwrap();
    assert_eq!(suites.len(), images.len(), "one testsuite per image");
    for (suite, image) in suites.iter().zip(images) {
        let cases = suite["cases"].as_array().unwrap();
        let mut names = BTreeSet::new();
        for case in cases {
            let name = case["name"].as_str().unwrap();
            assert!(
                names.insert(name),
                "testcase name {name:?} repeats in suite {}",
                suite["name"]
            );
        }
        let scan: Vec<&Value> = cases.iter().filter(|c| c["name"] == "scan").collect();
        assert_eq!(scan.len(), 1, "one scan testcase");
        let scan_failed = scan[0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "failure");
        assert_eq!(
            scan_failed,
            !image["error"].is_null(),
            "the scan testcase fails exactly when the scan is unusable"
        );

        let findings = image["findings"].as_array().unwrap();
        assert_eq!(
            cases.len(),
            findings.len() + 1,
            "one testcase per finding plus the scan"
        );
        let violations = findings
            .iter()
            .filter(|f| f["state"] == "violation")
            .count() as u64;
        assert_eq!(
            suite["failures"].as_u64().unwrap(),
            violations + u64::from(scan_failed)
        );
        let exempt = findings
            .iter()
            .filter(|f| f["state"] == "allowed" || f["state"] == "ignored-unfixed")
            .count();
        assert_eq!(suite["skipped"].as_u64().unwrap(), exempt as u64);
    }
}

fn check_gitlab_facts(gitlab: &Value, report: &Value) {
    assert_eq!(gitlab["scan"]["type"], "container_scanning");
    let expected_status = if report["verdict"] == "error" {
        "failure"
    } else {
        "success"
    };
    assert_eq!(gitlab["scan"]["status"], expected_status);
    let vulnerabilities = gitlab["vulnerabilities"].as_array().unwrap();
    assert_eq!(
        vulnerabilities.len(),
        json_findings(report).len(),
        "one vulnerability per finding"
    );
    let ids: BTreeSet<&str> = vulnerabilities
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        vulnerabilities.len(),
        "vulnerability ids are unique"
    );
    let warnings = report["warnings"].as_array().unwrap().len();
    let messages = gitlab["scan"]["messages"].as_array().unwrap();
    assert_eq!(
        messages.iter().filter(|m| m["level"] == "warn").count(),
        warnings,
        "every warning is a message"
    );
}

// ---------------------------------------------------------------------------------------
// One test per fixture (or fixture + policy), so a failure names its input
// ---------------------------------------------------------------------------------------

#[test]
fn reports_for_basic_findings_pass_every_validator() {
    check_all_reports(&["basic-findings.json"], &[], 1);
}

#[test]
fn reports_for_basic_findings_with_scoped_allow_entries_pass_every_validator() {
    let reports = check_all_reports(
        &["basic-findings.json"],
        &["--policy", &fixture("policies/scoped.toml")],
        1,
    );
    let log = read_json(&reports.sarif);
    let suppressed = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["suppressions"].is_array())
        .count();
    assert_eq!(suppressed, 2, "the two allowed findings carry suppressions");
}

#[test]
fn reports_for_enhanced_findings_pass_every_validator() {
    let reports = check_all_reports(&["enhanced-findings.json"], &[], 1);
    // The Inspector-suppressed finding is a suppressed SARIF result; one result for the
    // finding that names two packages.
    let log = read_json(&reports.sarif);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r["suppressions"].is_array())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "suppressed in Amazon Inspector"
    );
    let multi: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "CVE-2026-31204")
        .collect();
    assert_eq!(
        multi.len(),
        1,
        "one result for a finding that names several packages"
    );
    let text = multi[0]["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("python3-urllib3") && text.contains("urllib3 2.2.3"),
        "{text}"
    );
    // CVSS score, not the severity default, where Inspector gives one.
    let rule = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "CVE-2026-31204")
        .unwrap();
    assert_eq!(rule["properties"]["security-severity"], "7.5");
}

#[test]
fn reports_for_enhanced_findings_with_the_full_policy_pass_every_validator() {
    check_all_reports(
        &["enhanced-findings.json"],
        &["--policy", &fixture("policies/full.toml")],
        1,
    );
}

#[test]
fn reports_for_enhanced_active_pass_every_validator() {
    check_all_reports(&["enhanced-active.json"], &[], 1);
}

#[test]
fn reports_for_clean_scan_pass_every_validator() {
    let reports = check_all_reports(&["clean-scan.json"], &[], 0);
    let log = read_json(&reports.sarif);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn reports_for_hostile_text_pass_every_validator() {
    check_all_reports(&["hostile-text.json"], &[], 1);
}

#[test]
fn reports_for_failed_scan_pass_every_validator() {
    let reports = check_all_reports(&["failed-scan.json"], &[], 3);
    let gitlab = read_json(&reports.gitlab);
    let messages = gitlab["scan"]["messages"].as_array().unwrap();
    assert!(messages
        .iter()
        .any(|m| m["level"] == "fatal" && m["value"].as_str().unwrap().contains("FAILED")));
}

#[test]
fn reports_for_multi_page_array_pass_every_validator() {
    check_all_reports(&["multi-page.json"], &[], 1);
}

#[test]
fn reports_for_two_page_files_pass_every_validator() {
    check_all_reports(
        &["multi-page/page-1.json", "multi-page/page-2.json"],
        &[],
        1,
    );
}

#[test]
fn reports_for_count_mismatch_pass_every_validator_and_carry_the_warning() {
    let reports = check_all_reports(&["count-mismatch.json"], &["--fail-on", "critical"], 0);
    // "a mismatch is reported as a warning in every format".
    let log = read_json(&reports.sarif);
    let notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(notes.iter().any(
        |n| n["level"] == "warning" && n["message"]["text"].as_str().unwrap().contains("count")
    ));
    let junit = std::fs::read_to_string(&reports.junit).unwrap();
    assert!(junit.contains("findingSeverityCounts"), "{junit}");
    let markdown = std::fs::read_to_string(&reports.markdown).unwrap();
    assert!(
        markdown.contains("### Warnings") && markdown.contains("count"),
        "{markdown}"
    );
    let console = std::fs::read_to_string(&reports.console).unwrap();
    assert!(console.contains("count"), "{console}");
    let gitlab = read_json(&reports.gitlab);
    assert!(gitlab["scan"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["value"].as_str().unwrap().contains("count")));
}

#[test]
fn reports_for_unknown_severity_pass_every_validator() {
    check_all_reports(&["unknown-severity.json"], &[], 1);
}

#[test]
fn reports_for_epoch_timestamps_without_a_tag_pass_every_validator() {
    check_all_reports(&["epoch-timestamps.json"], &[], 1);
}

#[test]
fn reports_for_several_images_at_once_pass_every_validator() {
    let reports = check_all_reports(
        &[
            "basic-findings.json",
            "enhanced-findings.json",
            "failed-scan.json",
        ],
        &[],
        3,
    );
    let report = read_json(&reports.json);
    assert_eq!(report["images"].as_array().unwrap().len(), 3);
}

#[test]
fn reports_for_two_images_of_one_repository_pass_every_validator() {
    let reports = check_all_reports(&["basic-findings.json", "multi-page.json"], &[], 1);
    let junit = std::fs::read_to_string(&reports.junit).unwrap();
    assert_eq!(
        junit.matches("<testsuite ").count(),
        2,
        "one testsuite per image"
    );
}

#[test]
fn reports_with_a_sarif_location_point_every_result_at_it() {
    check_all_reports(
        &["basic-findings.json"],
        &["--sarif-location", "docker/Dockerfile"],
        1,
    );
}

#[test]
fn sarif_fingerprints_and_automation_id_are_stable_across_runs() {
    let first = check_all_reports(&["basic-findings.json"], &[], 1);
    let second = check_all_reports(&["basic-findings.json"], &[], 1);
    let facts = |path: &Path| {
        let log = read_json(path);
        let run = &log["runs"][0];
        let fps: BTreeMap<String, Value> = run["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["message"]["text"].as_str().unwrap().to_string(),
                    r["partialFingerprints"].clone(),
                )
            })
            .collect();
        (run["automationDetails"]["id"].clone(), fps)
    };
    assert_eq!(facts(&first.sarif), facts(&second.sarif));
}
