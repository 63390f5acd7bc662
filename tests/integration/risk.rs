//! Risk signals end to end: VEX, aliases, the CISA KEV catalog, EPSS scores, exploitability and
//! the baseline, through `evaluate` (shipped fixtures) and `check` (the fake ECR), in every
//! report, and every way their files can be wrong (exit 2 before any AWS call).

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::fake_ecr::*;
use crate::live::run_env;
use crate::util::{self, bin, fixture, read_json, Outcome};

/// The team policy of `fixtures/policies/risk.toml` against `enhanced-findings.json`, with the
/// baseline of the image in production.
fn team(extra: &[&str]) -> (Outcome, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut gate = bin();
    gate.args([
        "evaluate",
        &fixture("enhanced-findings.json"),
        "--policy",
        &fixture("policies/risk.toml"),
        "--baseline",
        &fixture("risk/baseline-app-api.json"),
    ])
    .args(extra);
    (gate.run(), dir)
}

/// The binary with the argument lists joined, in a clean environment.
fn gate(parts: &[&[&str]]) -> Outcome {
    util::run(parts.iter().flat_map(|p| p.iter().copied()))
}

fn states(report: &Value) -> Vec<(String, String)> {
    report["images"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn by_id<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no finding {id}"))
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_team_policy_judges_each_finding_by_its_risk() {
    let (out, dir) = team(&["-o", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    let path = dir.path().join("report.json");
    std::fs::write(&path, &out.stdout).unwrap();
    util::validate_json_report(&path);
    assert_eq!(
        states(&report),
        [
            ("CVE-2026-24710", "violation"),
            ("CVE-2026-22984", "allowed"),
            ("CVE-2026-21877", "allowed"),
            ("CVE-2026-31204", "pre-existing"),
            ("GHSA-7h4p-q2vx-93mc", "violation"),
            ("CVE-2025-60219", "violation"),
            ("CVE-2026-33001", "below-threshold"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // Exploitable and in the baseline: escalated, not excused.
    let expat = by_id(&report, "CVE-2026-24710");
    assert!(
        expat["reason"].as_str().unwrap().contains("exploit"),
        "{expat}"
    );
    assert!(
        expat["reason"].as_str().unwrap().contains("pre-existing"),
        "{expat}"
    );
    assert_eq!(expat["baseline"], "unchanged");
    // VEX, by repository purl limited to the libtiff6 subcomponent.
    assert_eq!(
        by_id(&report, "CVE-2026-22984")["reason"],
        "VEX not_affected: vulnerable_code_not_in_execute_path (fixtures/risk/app-api.openvex.json)"
            .replace("fixtures/", &format!("{}/", util::root().join("fixtures").display()))
    );
    // EPSS through the alias: the GHSA finding's CVE scores 0.42.
    let cookie = by_id(&report, "GHSA-7h4p-q2vx-93mc");
    assert_eq!(cookie["aliases"], json!(["CVE-2026-28841"]));
    assert_eq!(cookie["epss"], json!(0.42018));
    assert_eq!(cookie["epss_percentile"], json!(0.97394));
    assert!(cookie["reason"].as_str().unwrap().starts_with(
        "EPSS 0.4202 (97th percentile) on 2026-12-01 is at or above fail-on-epss 0.1"
    ));
    assert_eq!(cookie["baseline"], "new");
    // KEV turns a LOW into a violation.
    let login = by_id(&report, "CVE-2025-60219");
    assert_eq!(
        (&login["kev"], &login["kev_date_added"]),
        (&json!(true), &json!("2026-11-18"))
    );
    assert_eq!(login["reason"], "in CISA KEV since 2026-11-18");
    assert_eq!(by_id(&report, "CVE-2026-33001")["kev"], json!(false));
    let counts = &report["images"][0]["counts"]["high"];
    assert_eq!(
        (
            &counts["pre_existing"],
            &counts["allowed"],
            &counts["violations"]
        ),
        (&json!(1), &json!(2), &json!(0))
    );
}

#[test]
fn flags_and_environment_give_the_same_verdict_as_the_policy_file() {
    let (file, _dir) = team(&["-o", "json"]);
    let flags = [
        "--vex",
        &fixture("risk/app-api.openvex.json"),
        "--kev",
        &fixture("risk/known_exploited_vulnerabilities.json"),
        "--epss",
        &fixture("risk/epss_scores-2026-12-01.csv"),
        "--fail-on-epss",
        "0.1",
        "--fail-on-exploitable",
        "medium",
        "--baseline",
        &fixture("risk/baseline-app-api.json"),
    ];
    let by_flags = gate(&[
        &["evaluate", &fixture("enhanced-findings.json"), "-o", "json"],
        &flags,
    ]);
    assert_eq!(by_flags.code, 1, "{}", by_flags.stderr);
    assert_eq!(states(&by_flags.json()), states(&file.json()));

    let mut gate = bin();
    gate.args(["evaluate", &fixture("enhanced-findings.json"), "-o", "json"]);
    for (key, value) in [
        ("ECR_SCAN_GATE_VEX", fixture("risk/app-api.openvex.json")),
        (
            "ECR_SCAN_GATE_KEV",
            fixture("risk/known_exploited_vulnerabilities.json"),
        ),
        (
            "ECR_SCAN_GATE_EPSS",
            fixture("risk/epss_scores-2026-12-01.csv.gz"),
        ),
        ("ECR_SCAN_GATE_FAIL_ON_EPSS", "0.1".into()),
        ("ECR_SCAN_GATE_FAIL_ON_EXPLOITABLE", "medium".into()),
        (
            "ECR_SCAN_GATE_BASELINE",
            fixture("risk/baseline-app-api.json"),
        ),
    ] {
        gate.env(key, value);
    }
    let by_env = gate.run();
    assert_eq!(by_env.code, 1, "{}", by_env.stderr);
    assert_eq!(states(&by_env.json()), states(&file.json()));
}

#[test]
fn without_the_risk_rules_the_same_findings_fail_differently() {
    // The default policy fails on the HIGHs the team policy excuses, and passes the KEV LOW.
    let out = gate(&[&["evaluate", &fixture("enhanced-findings.json"), "-o", "json"]]);
    let report = out.json();
    assert_eq!(by_id(&report, "CVE-2026-31204")["state"], "violation");
    assert_eq!(by_id(&report, "CVE-2025-60219")["state"], "below-threshold");
    assert_eq!(by_id(&report, "CVE-2025-60219")["baseline"], Value::Null);
}

#[test]
fn every_report_shows_the_signals_and_passes_its_validator() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (sarif, junit, gitlab, markdown) = (at("r.sarif"), at("r.xml"), at("gl.json"), at("r.md"));
    let (out, _) = team(&[
        "-o",
        &format!("sarif={sarif}"),
        "-o",
        &format!("junit={junit}"),
        "-o",
        &format!("gitlab={gitlab}"),
        "-o",
        &format!("markdown={markdown}"),
        "-o",
        "console",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // Console: the risk column marks KEV, EPSS and exploits; a pre-existing column appears.
    assert!(
        out.stdout.contains("KEV 2026-11-18, EPSS 0.0512"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("EPSS 0.0192, exploit"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("pre-existing"), "{}", out.stdout);

    util::validate_sarif(Path::new(&sarif));
    let log = read_json(Path::new(&sarif));
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r["baselineState"] == "new" || r["baselineState"] == "unchanged"),
        "every result has a baselineState once a baseline is given"
    );
    let login = results
        .iter()
        .find(|r| r["ruleId"] == "CVE-2025-60219")
        .unwrap();
    assert_eq!(login["baselineState"], "new");
    assert_eq!(login["properties"]["kev"], true);
    assert_eq!(
        login["properties"]["epss"],
        json!(0.0512),
        "the score as written, not its f32"
    );
    assert!(login["properties"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("kev")));
    let rule = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "CVE-2025-60219")
        .unwrap();
    assert!(rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("kev")));
    let urllib3 = results
        .iter()
        .find(|r| r["ruleId"] == "CVE-2026-31204")
        .unwrap();
    assert_eq!(
        (&urllib3["baselineState"], &urllib3["level"]),
        (&json!("unchanged"), &json!("note"))
    );

    let parsed = util::validate_junit(Path::new(&junit));
    if let Some(parsed) = parsed {
        let case = parsed[0]["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "CVE-2026-31204")
            .unwrap()
            .clone();
        assert_eq!(case["results"], json!(["skipped"]));
        assert!(case["messages"][0]
            .as_str()
            .unwrap()
            .starts_with("pre-existing: also in the baseline"));
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("in CISA KEV since 2026-11-18"));

    util::validate_gitlab(Path::new(&gitlab));
    let gl = read_json(Path::new(&gitlab));
    let login = gl["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["identifiers"][0]["value"] == "CVE-2025-60219")
        .unwrap();
    assert_eq!(
        login["details"]["cisa_kev"]["value"],
        "listed since 2026-11-18"
    );
    assert_eq!(login["details"]["baseline"]["value"], "new");

    let md = std::fs::read_to_string(&markdown).unwrap();
    let new = md
        .find("new since baseline")
        .expect("a new-since-baseline section");
    let unchanged = md
        .find("unchanged since baseline")
        .expect("an unchanged section");
    assert!(new < unchanged, "{md}");
    assert!(md.contains("🔥 KEV 2026-11-18"), "{md}");
    assert!(md.contains("pre-existing finding(s) escalated"), "{md}");
}

#[test]
fn stale_risk_data_warns() {
    let dir = tempfile::tempdir().unwrap();
    let kev = write(
        dir.path(),
        "kev.json",
        r#"{"dateReleased": "2020-01-01T00:00:00Z", "vulnerabilities": []}"#,
    );
    let epss = write(
        dir.path(),
        "epss.csv",
        "#model_version:v2023.03.01,score_date:2020-02-02T00:00:00+0000\ncve,epss,percentile\n",
    );
    let out = gate(&[&[
        "evaluate",
        &fixture("enhanced-findings.json"),
        "--kev",
        &kev,
        "--epss",
        &epss,
    ]]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("KEV catalog")
            && out
                .stderr
                .contains("from 2020-01-01, more than 30 days ago"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("EPSS scores") && out.stderr.contains("from 2020-02-02"),
        "{}",
        out.stderr
    );
}

/// Every wrong risk-data input: exit 2, naming the file (and for JSON, line and column).
#[test]
fn bad_risk_data_is_exit_2_naming_the_file_and_spot() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let vex_status = write(
        d,
        "bad.openvex.json",
        "{\"@context\": \"https://openvex.dev/ns/v0.2.0\", \"timestamp\": \"2026-12-01T00:00:00Z\",\n\"statements\": [\n  {\"vulnerability\": {\"name\": \"CVE-1\"},\n   \"status\": \"perhaps\", \"products\": [{\"@id\": \"pkg:oci/app/web\"}]}]}\n",
    );
    let vex_syntax = write(
        d,
        "syntax.openvex.json",
        "{\"@context\": \"https://openvex.dev/ns/v0.2.0\",\n  \"statements\": [,]}",
    );
    let kev_shape = write(
        d,
        "kev.json",
        "{\n  \"vulnerabilities\": [\n    {\"cveID\": \"CVE-1\"}\n  ]\n}\n",
    );
    let epss_header = write(d, "epss.csv", "#score_date:2026-12-01\nid,score\n");
    let epss_range = write(d, "range.csv", "cve,epss,percentile\nCVE-2026-1,1.2,0.5\n");
    let not_ours = write(d, "other.json", "{\"SchemaVersion\": 2, \"Results\": []}");
    let wait_report = write(
        d,
        "wait.json",
        r#"{"version": 1, "tool": {"name": "ecr-scan-gate", "version": "0.1.0"}, "images": [{"repository": "app/web", "error": null}]}"#,
    );
    let missing = d.join("missing.json").to_str().unwrap().to_string();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["--vex", &vex_status], format!("{vex_status}:4:")),
        (vec!["--vex", &vex_syntax], format!("{vex_syntax}:2:")),
        (vec!["--kev", &kev_shape], format!("{kev_shape}:3:")),
        (
            vec!["--epss", &epss_header],
            format!("{epss_header}:2:1: not FIRST's EPSS CSV"),
        ),
        (
            vec!["--epss", &epss_range],
            format!("{epss_range}:2:12: epss `1.2`"),
        ),
        (vec!["--baseline", &not_ours], format!("{not_ours}:1:")),
        (
            vec!["--baseline", &wait_report],
            "not of `wait`".to_string(),
        ),
        (
            vec!["--kev", &missing],
            format!("{missing}: cannot read the KEV catalog"),
        ),
        (
            vec!["--fail-on-epss", "1.5"],
            "not a probability from 0 to 1".to_string(),
        ),
        (
            vec!["--fail-on-epss", "0.2"],
            "needs EPSS scores".to_string(),
        ),
        (
            vec!["--fail-on-exploitable", "severe"],
            "unknown severity".to_string(),
        ),
    ];
    let fake = tokio::runtime::Runtime::new().unwrap();
    for (flags, expected) in cases {
        let out = gate(&[&["evaluate", &fixture("enhanced-findings.json")], &flags]);
        assert_eq!(out.code, 2, "{flags:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(&expected),
            "{flags:?}: expected `{expected}` in\n{}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{flags:?}: no report on exit 2");

        // `check` refuses the same input before its first AWS call.
        fake.block_on(async {
            let ecr = FakeEcr::start().await;
            let mut args = vec!["check", "app/web:v1"];
            args.extend(&flags);
            let out = run_env(ecr.uri(), &args, &[]).await;
            assert_eq!(out.status.code(), Some(2), "check {flags:?}");
            let calls = ecr.server.received_requests().await.unwrap_or_default();
            assert!(
                calls.is_empty(),
                "check {flags:?} called AWS before failing"
            );
        });
    }
    // In the policy file the path is relative to it, and the policy's spot is named too.
    let policy = write(d, "p.toml", "fail-on-epss = 2\nkev = 5\n");
    let out = gate(&[&[
        "evaluate",
        &fixture("enhanced-findings.json"),
        "--policy",
        &policy,
    ]]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("p.toml:1:16:") && out.stderr.contains("p.toml:2:7: expected a string"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_vex_statement_that_matches_nothing_warns_like_an_unused_allow_entry() {
    let dir = tempfile::tempdir().unwrap();
    let vex = write(
        dir.path(),
        "old.openvex.json",
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "timestamp": "2026-12-01T00:00:00Z",
            "statements": [{"vulnerability": {"name": "CVE-2020-1"}, "status": "fixed",
                            "products": [{"@id": "pkg:oci/app/api"}]}]}"#,
    );
    let out = gate(&[&[
        "evaluate",
        &fixture("enhanced-findings.json"),
        "--vex",
        &vex,
    ]]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "VEX statement for CVE-2020-1 ({vex}:2:28) matched no finding"
        )),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------
// Live: `check` reaches the same verdict, and `--baseline-image` judges the baseline live.
// ---------------------------------------------------------------------------------------

async fn two_images(fake: &FakeEcr, baseline_status: &str) {
    for (tag, digest) in [("v2", DIGEST_A), ("prod", DIGEST_B)] {
        let mut details = image_details(digest, "application/vnd.oci.image.manifest.v1+json");
        details["imageDetails"][0]["imageTags"] = json!([tag]);
        fake.on_body("DescribeImages", &format!("\"{tag}\""), ok(details))
            .await;
    }
    let new = vec![
        basic_finding("CVE-2024-3400", "LOW", "panos"),
        basic_finding("CVE-2026-1", "HIGH", "zlib"),
        basic_finding("CVE-2026-2", "HIGH", "openssl"),
    ];
    fake.on_body(
        "DescribeImageScanFindings",
        DIGEST_A,
        ok(scan_page(DIGEST_A, "COMPLETE", new, None)),
    )
    .await;
    let old = vec![basic_finding("CVE-2026-1", "HIGH", "zlib")];
    let mut page = scan_page(DIGEST_B, baseline_status, old, None);
    if baseline_status != "COMPLETE" {
        page.as_object_mut().unwrap().remove("imageScanFindings");
    }
    fake.on_body("DescribeImageScanFindings", DIGEST_B, ok(page))
        .await;
    fake.on(
        "GetRegistryScanningConfiguration",
        registry_scanning("BASIC"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn baseline_image_is_judged_live_and_old_findings_are_pre_existing() {
    let fake = FakeEcr::start().await;
    two_images(&fake, "COMPLETE").await;
    let kev = fixture("risk/known_exploited_vulnerabilities.json");
    let args = [
        "check",
        "app/web:v2",
        "--baseline-image",
        "app/web:prod",
        "--kev",
        &kev,
        "-o",
        "json",
    ];
    let out = run_env(fake.uri(), &args, &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["images"].as_array().unwrap().len(),
        1,
        "the baseline is not a judged image"
    );
    assert_eq!(
        states(&report),
        [
            ("CVE-2026-1", "pre-existing"),
            ("CVE-2026-2", "violation"),
            ("CVE-2024-3400", "violation")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(
        by_id(&report, "CVE-2026-1")["reason"],
        "also in the baseline image app/web:prod"
    );
    assert_eq!(
        by_id(&report, "CVE-2024-3400")["reason"],
        "in CISA KEV since 2024-04-12, known ransomware use"
    );

    // The same page saved and judged offline: the same states.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("v2.json");
    let mut page = std::fs::File::create(&saved).unwrap();
    let body = fake.calls("DescribeImageScanFindings").await;
    assert!(!body.is_empty());
    let new = vec![
        basic_finding("CVE-2024-3400", "LOW", "panos"),
        basic_finding("CVE-2026-1", "HIGH", "zlib"),
        basic_finding("CVE-2026-2", "HIGH", "openssl"),
    ];
    write!(page, "{}", scan_page(DIGEST_A, "COMPLETE", new, None)).unwrap();
    let baseline = dir.path().join("prod.json");
    std::fs::write(&baseline, &out.stdout).unwrap();
    // The live report is itself a valid baseline: everything in it is pre-existing now.
    let offline = gate(&[&[
        "evaluate",
        saved.to_str().unwrap(),
        "--kev",
        &kev,
        "--baseline",
        baseline.to_str().unwrap(),
        "-o",
        "json",
    ]]);
    assert_eq!(offline.code, 1, "{}", offline.stderr);
    let offline = offline.json();
    assert_eq!(by_id(&offline, "CVE-2026-2")["state"], "pre-existing");
    assert_eq!(
        by_id(&offline, "CVE-2024-3400")["state"],
        "violation",
        "KEV escalates old debt too"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_baseline_image_that_cannot_be_read_fails_the_run_instead_of_excusing_nothing() {
    let fake = FakeEcr::start().await;
    two_images(&fake, "FAILED").await;
    let args = [
        "check",
        "app/web:v2",
        "--baseline-image",
        "app/web:prod",
        "-o",
        "json",
    ];
    let out = run_env(fake.uri(), &args, &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "error");
    let message = report["images"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the baseline image app/web:prod could not be read"),
        "{message}"
    );
}

#[test]
fn baseline_and_baseline_image_together_are_a_usage_error() {
    let out = gate(&[&[
        "check",
        "app/web:v1",
        "--baseline",
        "a.json",
        "--baseline-image",
        "app/web:prod",
    ]]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
}
