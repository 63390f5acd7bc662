//! `ecr-scan-gate evaluate` end to end: exit code, stdout and stderr for each documented
//! situation (insta snapshots), plus facts of the JSON report and the handling of hostile text.

use insta::assert_snapshot;
use serde_json::Value;

use crate::util::{bin, fixture, read_json, run, snapshot_text, Outcome};

/// `ecr-scan-gate evaluate ARGS…` in a clean environment.
fn evaluate(args: &[&str]) -> Outcome {
    run(std::iter::once("evaluate").chain(args.iter().copied()))
}

/// `ecr-scan-gate evaluate ARGS…` with extra environment variables.
fn evaluate_with_env(env: &[(&str, &str)], args: &[&str]) -> Outcome {
    let mut gate = bin();
    gate.arg("evaluate").args(args);
    for (key, value) in env {
        gate.env(key, value);
    }
    gate.run()
}

#[track_caller]
fn assert_code(outcome: &Outcome, code: i32) {
    assert_eq!(
        outcome.code,
        code,
        "unexpected exit code\n{}",
        snapshot_text(outcome)
    );
}

/// The JSON report's only image.
fn only_image(report: &Value) -> &Value {
    let images = report["images"].as_array().expect("images");
    assert_eq!(images.len(), 1, "{report:#}");
    &images[0]
}

fn findings(image: &Value) -> &Vec<Value> {
    image["findings"].as_array().expect("findings")
}

fn finding<'a>(image: &'a Value, id: &str) -> &'a Value {
    let matching: Vec<&Value> = findings(image).iter().filter(|f| f["id"] == id).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one finding {id}: {matching:#?}"
    );
    matching[0]
}

fn warnings(report: &Value) -> Vec<&str> {
    report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Policy outcomes
// ---------------------------------------------------------------------------------------

#[test]
fn basic_findings_default_policy_fails_with_exit_1() {
    let out = evaluate(&[&fixture("basic-findings.json")]);
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn enhanced_findings_default_policy_fails_with_exit_1() {
    let out = evaluate(&[&fixture("enhanced-findings.json")]);
    assert_code(&out, 1);
    assert!(
        out.stdout.contains("1 closed Inspector finding"),
        "{}",
        out.stdout
    );
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn enhanced_active_status_is_usable_and_fails_on_high_with_exit_1() {
    let out = evaluate(&[&fixture("enhanced-active.json")]);
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn clean_scan_passes_with_exit_0() {
    let out = evaluate(&[&fixture("clean-scan.json")]);
    assert_code(&out, 0);
    assert!(
        out.stderr.is_empty(),
        "a clean scan has nothing to warn about: {}",
        out.stderr
    );
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn fail_on_none_passes_basic_findings_with_exit_0() {
    let out = evaluate(&["--fail-on", "none", &fixture("basic-findings.json")]);
    assert_code(&out, 0);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn fail_on_critical_fails_only_on_the_critical_with_exit_1() {
    let out = evaluate(&["--fail-on", "critical", &fixture("basic-findings.json")]);
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn fail_on_critical_passes_an_image_without_criticals_with_exit_0() {
    let out = evaluate(&["--fail-on", "CRITICAL", &fixture("enhanced-active.json")]);
    assert_code(&out, 0);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn budgets_for_critical_and_high_pass_basic_findings_with_exit_0() {
    let out = evaluate(&[
        "--max",
        "critical=5",
        "--max",
        "high=5",
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 0);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn budget_exceeded_makes_every_finding_of_that_severity_violate_with_exit_1() {
    let out = evaluate(&[
        "--fail-on",
        "none",
        "--max",
        "high=1",
        "-o",
        "json",
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 1);
    let report = out.json();
    let image = only_image(&report);
    let high: Vec<&str> = findings(image)
        .iter()
        .filter(|f| f["severity"] == "high")
        .map(|f| f["state"].as_str().unwrap())
        .collect();
    assert_eq!(high, ["violation", "violation"]);
    assert_eq!(finding(image, "CVE-2026-21387")["state"], "below-threshold");
}

#[test]
fn ignore_unfixed_on_basic_scan_warns_and_ignores_nothing_with_exit_1() {
    let out = evaluate(&["--ignore-unfixed", &fixture("basic-findings.json")]);
    assert_code(&out, 1);
    assert!(
        out.stderr
            .contains("ignore-unfixed has no effect on a basic scan"),
        "{}",
        out.stderr
    );
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn ignore_unfixed_on_enhanced_scan_ignores_fix_no_only_with_exit_1() {
    let out = evaluate(&["--ignore-unfixed", &fixture("enhanced-findings.json")]);
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn allow_of_the_critical_id_allows_it_but_highs_still_fail_with_exit_1() {
    let out = evaluate(&["--allow", "CVE-2026-21387", &fixture("basic-findings.json")]);
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn allow_of_every_violating_id_passes_with_exit_0() {
    let out = evaluate(&[
        "--allow",
        "CVE-2026-21387",
        "--allow",
        "cve-2026-20371",
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 0);
    assert_snapshot!(snapshot_text(&out));
}

// ---------------------------------------------------------------------------------------
// Policy files
// ---------------------------------------------------------------------------------------

#[test]
fn policy_file_full_example_leaves_one_violation_with_exit_1() {
    let out = evaluate(&[
        "--policy",
        &fixture("policies/full.toml"),
        &fixture("enhanced-findings.json"),
    ]);
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));

    let json = evaluate(&[
        "--policy",
        &fixture("policies/full.toml"),
        "-o",
        "json",
        &fixture("enhanced-findings.json"),
    ]);
    let report = json.json();
    let image = only_image(&report);
    let states: Vec<(&str, &str)> = findings(image)
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("CVE-2026-24710", "allowed"),
            ("CVE-2026-21877", "allowed"),
            ("CVE-2026-22984", "ignored-unfixed"),
            ("CVE-2026-31204", "violation"),
            ("GHSA-7h4p-q2vx-93mc", "allowed"),
            ("CVE-2025-60219", "ignored-unfixed"),
            ("CVE-2026-33001", "ignored-unfixed"),
        ]
    );
    assert_eq!(
        finding(image, "CVE-2026-24710")["reason"],
        "libexpat1 only parses configuration files we ship"
    );
    // treat-unknown-as = "low": the UNTRIAGED finding is counted as low, its origin kept.
    assert_eq!(finding(image, "CVE-2026-33001")["severity"], "low");
    assert_eq!(
        finding(image, "CVE-2026-33001")["original_severity"],
        "unknown"
    );
    assert_eq!(report["fail_on"], "high");
}

#[test]
fn policy_file_with_errors_exits_2_listing_file_line_and_column_of_each() {
    let policy = fixture("policies/errors.toml");
    let out = evaluate(&[
        "--policy",
        &policy,
        "-o",
        "json",
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 2);
    assert!(
        out.stdout.is_empty(),
        "no report on a usage error: {}",
        out.stdout
    );
    for expected in [
        format!("{policy}:2:11: unknown severity `severe`"),
        format!("{policy}:4:1: unknown key `colour`"),
        format!("{policy}:8:1: unknown severity `urgent` in [max]"),
        format!("{policy}:10:1: allow entry `CVE-2026-21387` has no `reason`"),
        format!("{policy}:16:11: `expires` = `31/01/2027` is not a date"),
    ] {
        assert!(
            out.stderr.contains(&expected),
            "missing {expected:?} in:\n{}",
            out.stderr
        );
    }
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn policy_file_that_does_not_exist_exits_2() {
    let out = evaluate(&[
        "--policy",
        &fixture("policies/no-such-policy.toml"),
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("no-such-policy.toml"), "{}", out.stderr);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn expired_and_unused_allow_entries_warn_and_do_not_suppress_with_exit_1() {
    let out = evaluate(&[
        "--policy",
        &fixture("policies/stale.toml"),
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 1);
    assert!(
        out.stderr.contains("expired on 2020-01-01"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("CVE-1999-0001") && out.stderr.contains("matched no finding"),
        "{}",
        out.stderr
    );
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn package_and_repository_scoped_entries_allow_only_what_they_name_with_exit_1() {
    let out = evaluate(&[
        "--policy",
        &fixture("policies/scoped.toml"),
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));

    let json = evaluate(&[
        "--policy",
        &fixture("policies/scoped.toml"),
        "-o",
        "json",
        &fixture("basic-findings.json"),
    ]);
    let report = json.json();
    let image = only_image(&report);
    let by_package: Vec<(&str, &str)> = findings(image)
        .iter()
        .filter(|f| f["id"] == "CVE-2026-20371" || f["id"] == "CVE-2026-21387")
        .map(|f| (f["package"].as_str().unwrap(), f["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        by_package,
        [
            ("zlib1g", "allowed"),
            ("libssl3", "allowed"),
            ("openssl", "violation")
        ]
    );
    assert!(warnings(&report)
        .iter()
        .any(|w| w.contains("scoped.toml:14:1") && w.contains("matched no finding")));
}

#[test]
fn treat_unknown_as_high_via_policy_file_makes_the_undefined_finding_violate_with_exit_1() {
    let out = evaluate(&[
        "--policy",
        &fixture("policies/treat-unknown-high.toml"),
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn default_policy_file_in_working_dir_is_picked_up_with_exit_0() {
    let mut gate = bin();
    std::fs::write(
        gate.dir().join(".ecr-scan-gate.toml"),
        "fail-on = \"none\"\n",
    )
    .unwrap();
    gate.args(["evaluate", &fixture("basic-findings.json")]);
    let out = gate.run();
    assert_code(&out, 0);
    assert!(out.stdout.contains("fail-on none"), "{}", out.stdout);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn default_policy_file_with_an_error_is_reported_by_its_name_with_exit_2() {
    let mut gate = bin();
    std::fs::write(
        gate.dir().join(".ecr-scan-gate.toml"),
        "fail-on = \"none\"\nfail_on = \"high\"\n",
    )
    .unwrap();
    gate.args(["evaluate", &fixture("basic-findings.json")]);
    let out = gate.run();
    assert_code(&out, 2);
    assert!(
        out.stderr
            .contains(".ecr-scan-gate.toml:2:1: unknown key `fail_on`"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------
// Input shapes
// ---------------------------------------------------------------------------------------

#[test]
fn multi_page_array_merges_into_one_image_without_warnings_with_exit_1() {
    let out = evaluate(&[&fixture("multi-page.json")]);
    assert_code(&out, 1);
    assert!(
        out.stderr.is_empty(),
        "all pages present, counts reconcile: {}",
        out.stderr
    );
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn two_page_files_merge_into_one_image_without_warnings_with_exit_1() {
    let out = evaluate(&[
        &fixture("multi-page/page-1.json"),
        &fixture("multi-page/page-2.json"),
    ]);
    assert_code(&out, 1);
    assert!(out.stderr.is_empty(), "both pages given: {}", out.stderr);
    assert_snapshot!(snapshot_text(&out));

    let json = evaluate(&[
        "-o",
        "json",
        &fixture("multi-page/page-1.json"),
        &fixture("multi-page/page-2.json"),
    ]);
    let report = json.json();
    let image = only_image(&report);
    assert_eq!(findings(image).len(), 4);
    assert_eq!(image["source"]["files"].as_array().unwrap().len(), 2);
}

#[test]
fn first_page_file_alone_warns_about_missing_pages_and_counts_with_exit_1() {
    let out = evaluate(&[&fixture("multi-page/page-1.json")]);
    assert_code(&out, 1);
    assert!(
        out.stderr.contains("nextToken") && out.stderr.contains("count"),
        "{}",
        out.stderr
    );
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn missing_pages_that_could_violate_are_exit_2_naming_the_missing_counts() {
    // ECR counts 1 CRITICAL and 2 HIGH; the save holds 1 HIGH: never a pass, never a verdict.
    let out = evaluate(&[&fixture("missing-pages.json")]);
    assert_code(&out, 2);
    assert!(
        out.stderr
            .contains("ECR counts 1 CRITICAL, 1 HIGH the input does not contain")
            && out.stderr.contains("save every page"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "no report on exit 2: {}", out.stdout);
}

#[test]
fn missing_pages_where_nothing_could_violate_warn_about_next_token_and_counts_with_exit_0() {
    let out = evaluate(&["--fail-on", "none", &fixture("missing-pages.json")]);
    assert_code(&out, 0);
    assert!(out.stderr.contains("nextToken"), "{}", out.stderr);
    assert!(out.stderr.contains("count"), "{}", out.stderr);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn max_items_truncated_output_is_exit_2_or_with_nothing_to_violate_a_warning() {
    let out = evaluate(&[&fixture("max-items-truncated.json")]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("1 HIGH"), "{}", out.stderr);
    let out = evaluate(&["--fail-on", "none", &fixture("max-items-truncated.json")]);
    assert_code(&out, 0);
    assert!(out.stderr.contains("nextToken"), "{}", out.stderr);
    assert!(out.stderr.contains("count"), "{}", out.stderr);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn count_shortfall_at_a_violating_severity_is_exit_2() {
    // Counts say HIGH 2, the save holds 1 HIGH; HIGH violates by default.
    let out = evaluate(&[&fixture("count-mismatch.json")]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("ECR counts 1 HIGH"), "{}", out.stderr);
    // A budget makes a severity able to violate too.
    let out = evaluate(&[
        "--fail-on",
        "none",
        "--max",
        "high=5",
        &fixture("count-mismatch.json"),
    ]);
    assert_code(&out, 2);
}

#[test]
fn count_shortfall_below_the_threshold_warns_with_the_word_count_with_exit_0() {
    let out = evaluate(&["--fail-on", "critical", &fixture("count-mismatch.json")]);
    assert_code(&out, 0);
    assert!(out.stderr.contains("count"), "{}", out.stderr);
    assert!(
        out.stdout.contains("count"),
        "the console report shows the warning too: {}",
        out.stdout
    );
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn quiet_hides_warnings_but_not_the_report() {
    let out = evaluate(&[
        "-q",
        "--fail-on",
        "critical",
        &fixture("count-mismatch.json"),
    ]);
    assert_code(&out, 0);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert!(out.stdout.contains("Verdict: PASS"), "{}", out.stdout);
}

#[test]
fn unknown_severity_ranks_critical_with_a_warning_with_exit_1() {
    let out = evaluate(&[&fixture("unknown-severity.json")]);
    assert_code(&out, 1);
    assert!(out.stderr.contains("SEVERE"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("count"),
        "counts still reconcile: {}",
        out.stderr
    );
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn epoch_timestamps_are_accepted_with_exit_1() {
    let out = evaluate(&[&fixture("epoch-timestamps.json")]);
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn enhanced_epoch_timestamps_are_accepted_with_exit_1() {
    let out = evaluate(&["-o", "json", &fixture("enhanced-epoch.json")]);
    assert_code(&out, 1);
    let report = out.json();
    let completed = only_image(&report)["scan"]["completed_at"]
        .as_str()
        .expect("completed_at");
    assert!(
        completed.ends_with('Z') && completed.contains('T'),
        "{completed}"
    );
}

#[test]
fn stdin_dash_input_is_read_with_exit_1() {
    let input = std::fs::read(fixture("basic-findings.json")).unwrap();
    let mut gate = bin();
    gate.args(["evaluate", "-"]).write_stdin(input);
    let out = gate.run();
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));

    let mut gate = bin();
    gate.args(["evaluate", "-o", "json", "-"])
        .write_stdin(std::fs::read(fixture("basic-findings.json")).unwrap());
    let report = gate.run().json();
    assert_eq!(
        only_image(&report)["source"]["files"],
        serde_json::json!(["<stdin>"])
    );
}

#[test]
fn bad_input_on_stdin_is_named_stdin_with_exit_2() {
    let mut gate = bin();
    gate.args(["evaluate", "-"])
        .write_stdin("{\"imageScanFindings\": ");
    let out = gate.run();
    assert_code(&out, 2);
    assert!(out.stderr.contains("<stdin>:1:"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// Scans that cannot be judged
// ---------------------------------------------------------------------------------------

#[test]
fn failed_scan_exits_3() {
    let out = evaluate(&[&fixture("failed-scan.json")]);
    assert_code(&out, 3);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn unsupported_image_exits_3() {
    let out = evaluate(&[&fixture("unsupported-image.json")]);
    assert_code(&out, 3);
    assert!(out.stderr.contains("not supported"), "{}", out.stderr);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn in_progress_scan_is_never_a_pass_and_exits_3() {
    let out = evaluate(&[&fixture("in-progress.json")]);
    assert_code(&out, 3);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn unknown_scan_status_quarantined_exits_3() {
    let out = evaluate(&[&fixture("status-unknown.json")]);
    assert_code(&out, 3);
    assert!(out.stderr.contains("QUARANTINED"), "{}", out.stderr);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn failed_scan_beside_a_failing_image_exits_3() {
    let out = evaluate(&[
        "-o",
        "json",
        &fixture("basic-findings.json"),
        &fixture("failed-scan.json"),
    ]);
    assert_code(&out, 3);
    let report = out.json();
    assert_eq!(report["verdict"], "error");
    let verdicts: Vec<&Value> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["verdict"])
        .collect();
    assert_eq!(verdicts, ["fail", "error"]);
}

#[test]
fn failed_scan_still_writes_reports_that_record_the_error_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let (json, sarif, junit) = (
        dir.path().join("r.json"),
        dir.path().join("r.sarif"),
        dir.path().join("r.xml"),
    );
    let out = evaluate(&[
        "-o",
        &format!("json={}", json.display()),
        "-o",
        &format!("sarif={}", sarif.display()),
        "-o",
        &format!("junit={}", junit.display()),
        &fixture("failed-scan.json"),
    ]);
    assert_code(&out, 3);

    let report = read_json(&json);
    assert_eq!(report["verdict"], "error");
    assert_eq!(report["exit_code"], 3);
    let image = only_image(&report);
    assert_eq!(image["verdict"], "error");
    assert_eq!(image["error"]["kind"], "scan");
    assert!(
        image["error"]["message"]
            .as_str()
            .unwrap()
            .contains("FAILED"),
        "{image:#}"
    );

    let log = read_json(&sarif);
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false, "{invocation:#}");
    let notes = invocation["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert!(notes.iter().any(
        |n| n["level"] == "error" && n["message"]["text"].as_str().unwrap().contains("FAILED")
    ));

    let xml = std::fs::read_to_string(&junit).unwrap();
    let scan_case = xml
        .find("<testcase name=\"scan\"")
        .expect("a scan testcase");
    let failure = xml[scan_case..]
        .find("<failure")
        .expect("the scan testcase fails");
    let case_end = xml[scan_case..]
        .find("</testcase>")
        .expect("the scan testcase has a body");
    assert!(failure < case_end, "{xml}");
    if let Some(suites) = crate::util::validate_junit(&junit) {
        let case = &suites[0]["cases"][0];
        assert_eq!(
            (case["name"].as_str(), case["results"][0].as_str()),
            (Some("scan"), Some("failure")),
            "{case}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Bad input files: exit 2 naming the file, no report
// ---------------------------------------------------------------------------------------

fn bad_input(name: &str) -> Outcome {
    let path = fixture(name);
    let out = evaluate(&[&path]);
    assert_code(&out, 2);
    assert!(
        out.stdout.is_empty(),
        "no report on a usage error: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&path),
        "the error names {path}:\n{}",
        out.stderr
    );
    out
}

#[test]
fn a_findings_list_gone_while_counts_say_critical_is_exit_2_never_a_pass() {
    let out = bad_input("bad/findings-list-gone.json");
    assert!(
        out.stderr.contains("neither findings nor enhancedFindings"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_empty_findings_object_under_active_is_not_a_clean_image() {
    let out = bad_input("bad/active-empty-findings.json");
    assert!(out.stderr.contains("not a clean image"), "{}", out.stderr);
}

#[test]
fn a_missing_status_or_pages_with_different_statuses_are_broken_input_exit_2() {
    let out = bad_input("bad/missing-status.json");
    assert!(
        out.stderr.contains("imageScanStatus.status"),
        "{}",
        out.stderr
    );
    let out = bad_input("bad/statuses-differ.json");
    assert!(
        out.stderr.contains("COMPLETE") && out.stderr.contains("ACTIVE"),
        "{}",
        out.stderr
    );
}

#[test]
fn timestamps_with_offsets_without_a_colon_are_accepted() {
    let out = evaluate(&["-o", "json", &fixture("offset-without-colon.json")]);
    assert_code(&out, 1);
    let report = out.json();
    assert_eq!(
        only_image(&report)["scan"]["completed_at"],
        "2020-01-24T04:11:45.000Z"
    );
}

#[test]
fn a_saved_active_answer_without_enhanced_findings_warns_about_old_aws_clis() {
    let out = evaluate(&[&fixture("active-old-cli.json")]);
    assert_code(&out, 0);
    assert!(
        out.stderr.contains("AWS CLI older than 2.4"),
        "{}",
        out.stderr
    );
}

#[test]
fn two_reports_to_one_path_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.out");
    let p = path.display().to_string();
    let out = evaluate(&[
        "-o",
        &format!("json={p}"),
        "-o",
        &format!("sarif={p}"),
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("both go to"), "{}", out.stderr);
    assert!(!path.exists(), "nothing written before the usage error");
}

#[test]
fn a_duration_too_large_to_represent_is_a_usage_error_not_a_panic() {
    let out = crate::util::run(["check", "app/web:v1", "--timeout", "1e30"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("too large"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn a_console_report_to_a_file_never_gets_colour() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("console.txt");
    let out = evaluate(&[
        "--color",
        "always",
        "-o",
        &format!("console={}", path.display()),
        "-o",
        "json",
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 1);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("FAIL") && !text.contains('\u{1b}'),
        "{text:?}"
    );
    let coloured = evaluate(&["--color", "always", &fixture("basic-findings.json")]);
    assert!(
        coloured.stdout.contains('\u{1b}'),
        "stdout still gets the colour asked for"
    );
}

#[test]
fn empty_input_file_exits_2() {
    let out = bad_input("bad/empty.json");
    assert!(out.stderr.contains("empty"), "{}", out.stderr);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn truncated_input_file_exits_2_with_line_and_column() {
    let out = bad_input("bad/truncated.json");
    assert!(
        out.stderr
            .contains(&format!("{}:12:", fixture("bad/truncated.json"))),
        "{}",
        out.stderr
    );
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn wrong_shape_input_file_exits_2() {
    let out = bad_input("bad/wrong-shape.json");
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn not_json_input_file_exits_2() {
    let out = bad_input("bad/not-json.txt");
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn wrong_type_input_file_exits_2_pointing_at_line_3() {
    let out = bad_input("bad/wrong-type.json");
    assert!(
        out.stderr
            .contains(&format!("{}:3:", fixture("bad/wrong-type.json"))),
        "{}",
        out.stderr
    );
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn nonexistent_input_file_exits_2() {
    let out = bad_input("bad/does-not-exist.json");
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn one_good_and_one_bad_file_exit_2_and_write_no_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = evaluate(&[
        "-o",
        &format!("json={}", report.display()),
        &fixture("basic-findings.json"),
        &fixture("bad/truncated.json"),
    ]);
    assert_code(&out, 2);
    assert!(
        !report.exists(),
        "a report was written although the input was invalid"
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn unwritable_report_path_never_leaves_a_pass_at_0_and_other_reports_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("report.json");
    let sarif = dir.path().join("report.sarif");
    let out = evaluate(&[
        "-o",
        &format!("json={}", missing.display()),
        "-o",
        &format!("sarif={}", sarif.display()),
        &fixture("clean-scan.json"),
    ]);
    assert_ne!(out.code, 0, "{}", snapshot_text(&out));
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("cannot write json report to") && out.stderr.contains("report.json"),
        "{}",
        out.stderr
    );
    assert!(sarif.is_file(), "the other report is still written");
}

// ---------------------------------------------------------------------------------------
// Usage errors
// ---------------------------------------------------------------------------------------

#[test]
fn two_reports_to_stdout_exit_2() {
    let out = evaluate(&["-o", "json", "-o", "sarif", &fixture("basic-findings.json")]);
    assert_code(&out, 2);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn unknown_report_format_exits_2() {
    let out = evaluate(&["-o", "xml", &fixture("basic-findings.json")]);
    assert_code(&out, 2);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn bad_fail_on_value_exits_2() {
    let out = evaluate(&["--fail-on", "severe", &fixture("basic-findings.json")]);
    assert_code(&out, 2);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn bad_max_value_exits_2() {
    let out = evaluate(&["--max", "high", &fixture("basic-findings.json")]);
    assert_code(&out, 2);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn no_input_file_exits_2() {
    let out = evaluate(&[]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("FILE"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// Environment variables (GitLab CI variables)
// ---------------------------------------------------------------------------------------

#[test]
fn env_fail_on_critical_behaves_like_the_flag() {
    let by_env = evaluate_with_env(
        &[("ECR_SCAN_GATE_FAIL_ON", "critical")],
        &[&fixture("basic-findings.json")],
    );
    let by_flag = evaluate(&["--fail-on", "critical", &fixture("basic-findings.json")]);
    assert_code(&by_env, 1);
    assert_eq!(by_env, by_flag);
    let by_env = evaluate_with_env(
        &[("ECR_SCAN_GATE_FAIL_ON", "critical")],
        &[&fixture("enhanced-active.json")],
    );
    assert_code(&by_env, 0);
}

#[test]
fn env_allow_takes_a_comma_separated_list() {
    let by_env = evaluate_with_env(
        &[("ECR_SCAN_GATE_ALLOW", "CVE-2026-21387,CVE-2026-20371")],
        &[&fixture("basic-findings.json")],
    );
    let by_flag = evaluate(&[
        "--allow",
        "CVE-2026-21387",
        "--allow",
        "CVE-2026-20371",
        &fixture("basic-findings.json"),
    ]);
    assert_code(&by_env, 0);
    assert_eq!(by_env, by_flag);
}

#[test]
fn env_ignore_unfixed_true_behaves_like_the_flag() {
    let by_env = evaluate_with_env(
        &[("ECR_SCAN_GATE_IGNORE_UNFIXED", "true")],
        &[&fixture("enhanced-findings.json")],
    );
    let by_flag = evaluate(&["--ignore-unfixed", &fixture("enhanced-findings.json")]);
    assert_code(&by_env, 1);
    assert_eq!(by_env, by_flag);
    assert!(by_env.stdout.contains("ignored"), "{}", by_env.stdout);
}

#[test]
fn env_ignore_unfixed_false_leaves_it_off() {
    let by_env = evaluate_with_env(
        &[("ECR_SCAN_GATE_IGNORE_UNFIXED", "false")],
        &[&fixture("enhanced-findings.json")],
    );
    let default = evaluate(&[&fixture("enhanced-findings.json")]);
    assert_eq!(by_env, default);
}

#[test]
fn env_output_json_writes_json_to_stdout() {
    let out = evaluate_with_env(
        &[("ECR_SCAN_GATE_OUTPUT", "json")],
        &[&fixture("clean-scan.json")],
    );
    assert_code(&out, 0);
    let report = out.json();
    assert_eq!(
        (report["version"].as_u64(), report["verdict"].as_str()),
        (Some(1), Some("pass"))
    );
}

#[test]
fn env_policy_names_the_policy_file() {
    let out = evaluate_with_env(
        &[("ECR_SCAN_GATE_POLICY", &fixture("policies/scoped.toml"))],
        &[&fixture("basic-findings.json")],
    );
    let by_flag = evaluate(&[
        "--policy",
        &fixture("policies/scoped.toml"),
        &fixture("basic-findings.json"),
    ]);
    assert_eq!(out, by_flag);
}

#[test]
fn flag_beats_env_fail_on_none_with_exit_1() {
    let out = evaluate_with_env(
        &[("ECR_SCAN_GATE_FAIL_ON", "none")],
        &["--fail-on", "high", &fixture("enhanced-active.json")],
    );
    assert_code(&out, 1);
    assert_snapshot!(snapshot_text(&out));
}

#[test]
fn env_beats_policy_file_fail_on() {
    let mut gate = bin();
    std::fs::write(
        gate.dir().join(".ecr-scan-gate.toml"),
        "fail-on = \"none\"\n",
    )
    .unwrap();
    gate.env("ECR_SCAN_GATE_FAIL_ON", "high")
        .args(["evaluate", &fixture("enhanced-active.json")]);
    assert_code(&gate.run(), 1);
}

// ---------------------------------------------------------------------------------------
// JSON report facts
// ---------------------------------------------------------------------------------------

const SEVERITIES: [&str; 6] = [
    "critical",
    "high",
    "medium",
    "low",
    "informational",
    "unknown",
];

fn counts(image: &Value, severity: &str) -> [u64; 4] {
    let c = &image["counts"][severity];
    ["total", "allowed", "ignored", "violations"]
        .map(|k| c[k].as_u64().unwrap_or_else(|| panic!("{severity}.{k}")))
}

#[test]
fn json_report_of_basic_findings_has_lowercase_counts_and_one_entry_per_finding() {
    let out = evaluate(&["-o", "json", &fixture("basic-findings.json")]);
    assert_code(&out, 1);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["version"], 1);
    assert_eq!(report["verdict"], "fail");
    assert_eq!(report["exit_code"], 1);
    assert_eq!(report["fail_on"], "high");
    let image = only_image(&report);
    assert_eq!(image["repository"], "app/web");
    assert_eq!(image["tag"], "v1.4.2");
    assert_eq!(image["registry_id"], "123456789012");
    assert!(image["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(image["scan"]["type"], "basic");
    assert_eq!(image["scan"]["status"], "COMPLETE");
    assert_eq!(image["scan"]["completed_at"], "2026-11-20T09:14:31.512Z");
    assert_eq!(image["error"], Value::Null);

    let keys: Vec<&String> = image["counts"].as_object().unwrap().keys().collect();
    let mut expected: Vec<&str> = SEVERITIES.to_vec();
    expected.sort();
    let mut got: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    got.sort();
    assert_eq!(got, expected, "severity keys are the six lowercase names");
    assert_eq!(counts(image, "critical"), [1, 0, 0, 1]);
    assert_eq!(counts(image, "high"), [2, 0, 0, 2]);
    assert_eq!(counts(image, "medium"), [1, 0, 0, 0]);
    assert_eq!(counts(image, "low"), [1, 0, 0, 0]);
    assert_eq!(counts(image, "informational"), [1, 0, 0, 0]);
    assert_eq!(counts(image, "unknown"), [1, 0, 0, 0]);

    // The same CVE in two packages is two findings; seven ECR findings, seven entries.
    assert_eq!(findings(image).len(), 7);
    let cve: Vec<&str> = findings(image)
        .iter()
        .filter(|f| f["id"] == "CVE-2026-20371")
        .map(|f| f["package"].as_str().unwrap())
        .collect();
    assert_eq!(cve, ["libssl3", "openssl"]);
    // Most severe first.
    let order: Vec<&str> = findings(image)
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "critical",
            "high",
            "high",
            "medium",
            "low",
            "informational",
            "unknown"
        ]
    );
    for f in findings(image) {
        assert!(SEVERITIES.contains(&f["severity"].as_str().unwrap()), "{f}");
        assert_eq!(
            f["fixed_in"],
            Value::Null,
            "basic scans carry no fix information: {f}"
        );
        assert_eq!(f["fix_available"], Value::Null, "{f}");
        let expected_state = if ["critical", "high"].contains(&f["severity"].as_str().unwrap()) {
            "violation"
        } else {
            "below-threshold"
        };
        assert_eq!(f["state"], expected_state, "{f}");
        assert!(!f["reason"].as_str().unwrap().is_empty());
    }
    let undefined = finding(image, "CVE-2026-23109");
    assert_eq!(
        (&undefined["severity"], &undefined["original_severity"]),
        (&"unknown".into(), &"unknown".into())
    );
    assert_eq!(finding(image, "CVE-2026-21387")["cvss"]["score"], 9.8);
}

#[test]
fn json_report_of_enhanced_findings_counts_closed_lists_packages_and_nulls_not_available() {
    let out = evaluate(&["-o", "json", &fixture("enhanced-findings.json")]);
    assert_code(&out, 1);
    let report = out.json();
    let image = only_image(&report);
    assert_eq!(image["scan"]["type"], "enhanced");

    // The CLOSED finding is counted as closed, and is not in findings or counts.
    assert_eq!(image["closed"], 1);
    assert!(
        findings(image).iter().all(|f| f["id"] != "CVE-2026-20055"),
        "closed finding listed"
    );
    assert_eq!(
        findings(image).len(),
        7,
        "one entry per finding, the closed one left out"
    );
    assert_eq!(counts(image, "critical"), [1, 0, 0, 1]);
    assert_eq!(counts(image, "high"), [3, 1, 0, 2]);
    assert_eq!(counts(image, "medium"), [1, 0, 0, 0]);
    assert_eq!(counts(image, "low"), [1, 0, 0, 0]);
    assert_eq!(counts(image, "informational"), [0, 0, 0, 0]);
    assert_eq!(counts(image, "unknown"), [1, 0, 0, 0]);

    // One finding naming two packages is one entry with a packages list.
    let multi = finding(image, "CVE-2026-31204");
    let packages = multi["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["python3-urllib3", "urllib3"]);
    assert_eq!(
        packages[0]["fixed_in"],
        Value::Null,
        "NotAvailable is not a version"
    );
    assert_eq!(packages[1]["fixed_in"], "2.5.1");
    assert_eq!(multi["fix_available"], "partial");
    assert_eq!(multi["state"], "violation");

    // fixedInVersion NotAvailable → fixed_in null.
    let unfixed = finding(image, "CVE-2026-22984");
    assert_eq!(unfixed["fixed_in"], Value::Null);
    assert_eq!(unfixed["fix_available"], "no");
    assert_eq!(unfixed["packages"][0]["fixed_in"], Value::Null);

    // Inspector SUPPRESSED → allowed with the documented reason.
    let suppressed = finding(image, "CVE-2026-21877");
    assert_eq!(suppressed["state"], "allowed");
    assert_eq!(suppressed["status"], "suppressed");
    assert_eq!(suppressed["reason"], "suppressed in Amazon Inspector");

    // UNTRIAGED → unknown; a non-CVE id is kept as is.
    assert_eq!(finding(image, "CVE-2026-33001")["severity"], "unknown");
    assert_eq!(finding(image, "GHSA-7h4p-q2vx-93mc")["package"], "cookie");

    let critical = finding(image, "CVE-2026-24710");
    assert_eq!(critical["exploit_available"], true);
    assert_eq!(critical["fix_available"], "yes");
    assert!(critical["fixed_in"].is_string(), "{critical}");
}

#[test]
fn json_report_with_treat_unknown_as_keeps_original_severity() {
    let out = evaluate(&[
        "--policy",
        &fixture("policies/treat-unknown-high.toml"),
        "-o",
        "json",
        &fixture("basic-findings.json"),
    ]);
    assert_code(&out, 1);
    let report = out.json();
    let image = only_image(&report);
    let undefined = finding(image, "CVE-2026-23109");
    assert_eq!(undefined["severity"], "high");
    assert_eq!(undefined["original_severity"], "unknown");
    assert_eq!(undefined["state"], "violation");
    assert_eq!(counts(image, "high"), [3, 0, 0, 3]);
    assert_eq!(counts(image, "unknown"), [0, 0, 0, 0]);
}

#[test]
fn json_report_of_unknown_severity_ranks_it_critical_and_keeps_the_label() {
    let out = evaluate(&["-o", "json", &fixture("unknown-severity.json")]);
    assert_code(&out, 1);
    let report = out.json();
    let image = only_image(&report);
    let severe = finding(image, "CVE-2026-39999");
    assert_eq!(severe["severity"], "critical");
    assert_eq!(severe["original_severity"], "severe");
    assert_eq!(severe["state"], "violation");
    assert!(image["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("SEVERE")));
    assert!(warnings(&report).iter().any(|w| w.contains("SEVERE")));
}

#[test]
fn json_report_of_count_mismatch_carries_the_warning() {
    let out = evaluate(&[
        "-o",
        "json",
        "--fail-on",
        "critical",
        &fixture("count-mismatch.json"),
    ]);
    let report = out.json();
    let image = only_image(&report);
    assert!(
        image["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("count")),
        "{image:#}"
    );
    assert!(warnings(&report).iter().any(|w| w.contains("count")));
}

#[test]
fn json_report_of_allowed_finding_carries_the_policy_reason() {
    let out = evaluate(&[
        "--policy",
        &fixture("policies/scoped.toml"),
        "-o",
        "json",
        &fixture("basic-findings.json"),
    ]);
    let report = out.json();
    let image = only_image(&report);
    let allowed: Vec<&Value> = findings(image)
        .iter()
        .filter(|f| f["state"] == "allowed")
        .collect();
    assert_eq!(allowed.len(), 2);
    assert_eq!(
        allowed[0]["reason"],
        "zlib in app/* services only inflates assets we build"
    );
    assert_eq!(counts(image, "critical"), [1, 1, 0, 0]);
    assert_eq!(counts(image, "high"), [2, 1, 0, 1]);
}

#[test]
fn json_report_of_ignore_unfixed_counts_ignored_not_allowed() {
    let out = evaluate(&[
        "--ignore-unfixed",
        "-o",
        "json",
        &fixture("enhanced-findings.json"),
    ]);
    let report = out.json();
    let image = only_image(&report);
    assert_eq!(counts(image, "high"), [3, 1, 1, 1]);
    assert_eq!(counts(image, "low"), [1, 0, 1, 0]);
    assert_eq!(counts(image, "unknown"), [1, 0, 1, 0]);
    assert_eq!(finding(image, "CVE-2026-22984")["state"], "ignored-unfixed");
}

// ---------------------------------------------------------------------------------------
// Hostile text in findings
// ---------------------------------------------------------------------------------------

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[track_caller]
fn assert_terminal_safe(stream: &str, text: &str) {
    for (n, line) in text.lines().enumerate() {
        let bad: Vec<char> = line
            .chars()
            .filter(|c| (c.is_control() && *c != '\n') || is_bidi_control(*c))
            .collect();
        assert!(
            bad.is_empty(),
            "{stream} line {} has control or bidi characters {bad:?}: {line:?}",
            n + 1
        );
        assert!(
            !line.trim_start().starts_with("::"),
            "{stream} line {} could be read as a workflow command: {line:?}",
            n + 1
        );
    }
    assert!(!text.contains('\u{1b}'), "{stream} contains ESC");
    assert!(!text.contains('\r'), "{stream} contains a carriage return");
}

#[test]
fn hostile_text_is_neutralised_on_the_console_and_stderr() {
    let out = evaluate(&[&fixture("hostile-text.json")]);
    assert_code(&out, 1);
    assert_terminal_safe("stdout", &out.stdout);
    assert_terminal_safe("stderr", &out.stderr);
    assert!(out.stdout.contains("CVE-2026-40001"), "{}", out.stdout);
}

#[test]
fn hostile_text_is_neutralised_in_warnings_and_errors_on_stderr() {
    // A hostile id that is also allowlisted and unused would echo the text through warnings;
    // an expired entry for a hostile id does the same through a per-image warning.
    let out = evaluate(&[
        "--allow",
        "::error::x\u{1b}[31m",
        &fixture("hostile-text.json"),
    ]);
    assert_code(&out, 1);
    assert!(!out.stderr.is_empty(), "the unused entry warns");
    assert_terminal_safe("stdout", &out.stdout);
    assert_terminal_safe("stderr", &out.stderr);
}

#[test]
fn hostile_text_is_escaped_in_markdown() {
    let out = evaluate(&["-o", "markdown", &fixture("hostile-text.json")]);
    assert_code(&out, 1);
    let lower = out.stdout.to_ascii_lowercase();
    for raw in ["<script", "<img", "](javascript:", "<b>"] {
        assert!(
            !lower.contains(raw),
            "markdown contains raw {raw:?}:\n{}",
            out.stdout
        );
    }
    assert_terminal_safe("markdown", &out.stdout);
    assert_terminal_safe("stderr", &out.stderr);
}

#[test]
fn relative_input_path_is_named_as_given_with_exit_2() {
    let mut gate = bin().in_dir(&crate::util::root());
    gate.args(["evaluate", "fixtures/bad/empty.json"]);
    let out = gate.run();
    assert_code(&out, 2);
    assert!(
        out.stderr.starts_with("error: fixtures/bad/empty.json: "),
        "{}",
        out.stderr
    );
}

#[test]
fn hostile_repository_and_status_text_of_a_failed_scan_are_neutralised_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hostile-failed.json");
    let response = serde_json::json!({
        "registryId": "123456789012",
        "repositoryName": "app/x\n::error file=a::pwned\u{1b}[2J",
        "imageId": {"imageDigest": format!("sha256:{}", "a".repeat(64)), "imageTag": "t\u{202E}gat"},
        "imageScanStatus": {"status": "FAILED", "description": "boom\r\n::add-mask::secret\u{7}"},
    });
    std::fs::write(&input, serde_json::to_vec(&response).unwrap()).unwrap();
    let out = evaluate(&[input.to_str().unwrap()]);
    assert_code(&out, 3);
    assert!(out.stderr.contains("FAILED"), "{}", out.stderr);
    assert_terminal_safe("stdout", &out.stdout);
    assert_terminal_safe("stderr", &out.stderr);
}
