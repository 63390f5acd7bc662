//! The live path (`check`, `wait`) through the real AWS SDK against real servers on loopback:
//! the scripted fake for statuses, paging and faults, and moto for the ECR API end to end.

use std::process::Output;

use serde_json::{json, Value};

use crate::fake_ecr::*;
use crate::moto::Moto;
use wiremock::ResponseTemplate;

/// Runs the binary against `endpoint` with test credentials and fast polling. Blocking, so
/// callers on the test runtime go through [`gate`].
fn run_blocking(endpoint: String, args: Vec<String>, extra_env: Vec<(String, String)>) -> Output {
    command(endpoint, args, extra_env)
        .output()
        .expect("run ecr-scan-gate")
}

/// The secret access key every live test signs with: no output may ever contain it.
pub const TEST_SECRET: &str = "test-secret-key-do-not-print";

/// The binary with test credentials and nothing of this machine's AWS or gate settings.
pub fn test_binary() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ecr-scan-gate"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ECR_SCAN_GATE_") || key.starts_with("AWS_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST")
        .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    cmd
}

/// The binary as [`run_env`] runs it, for callers that need its stdin.
pub fn command(
    endpoint: String,
    args: Vec<String>,
    extra_env: Vec<(String, String)>,
) -> std::process::Command {
    let mut cmd = test_binary();
    cmd.env("AWS_REGION", "us-east-1").env("NO_COLOR", "1");
    for (k, v) in extra_env {
        // An empty value means "unset" here.
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    cmd.args(&args);
    if args[0] != "evaluate" {
        let has = |flag: &str| args.iter().any(|a| a == flag);
        if !has("--endpoint-url") && !endpoint.is_empty() {
            cmd.args(["--endpoint-url", &endpoint]);
        }
        for (flag, value) in [
            ("--poll-interval", "0.01"),
            ("--max-poll-interval", "0.05"),
            ("--scan-grace", "0.5"),
            ("--timeout", "10"),
            // The settle rule has its own tests; elsewhere the first usable answer is judged.
            ("--settle", "0"),
        ] {
            if !has(flag) {
                cmd.args([flag, value]);
            }
        }
    }
    cmd
}

async fn gate(fake: &FakeEcr, args: &[&str]) -> Output {
    gate_env(fake, args, &[]).await
}

async fn gate_env(fake: &FakeEcr, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_env(fake.uri(), args, env).await
}

/// The binary against any endpoint (the fault matrix points it at a resetting socket too).
pub async fn run_env(endpoint: String, args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || run_blocking(endpoint, args, env))
        .await
        .unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn json_out(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn status_sequence_pending_in_progress_complete_is_judged_once_usable() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        Sequence::new(vec![
            ok(scan_page(DIGEST_A, "PENDING", vec![], None)),
            ok(scan_page(DIGEST_A, "IN_PROGRESS", vec![], None)),
            ok(scan_page(
                DIGEST_A,
                "COMPLETE",
                vec![basic_finding("CVE-2026-1", "MEDIUM", "zlib")],
                None,
            )),
        ]),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1", "-o", "json"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["images"][0]["counts"]["medium"]["total"], 1);
    assert_eq!(
        fake.calls("DescribeImageScanFindings").await.len(),
        3,
        "three polls, the last page reused"
    );
    assert_eq!(
        fake.calls("DescribeImages").await.len(),
        1,
        "one DescribeImages per tag"
    );
}

/// An enhanced answer with `n` CRITICAL findings and no completion time yet, so only the
/// findings staying the same can settle it.
fn enhanced_criticals(n: usize) -> Value {
    let findings: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "severity": "CRITICAL", "status": "ACTIVE", "title": format!("CVE-2026-10{i} - openssl"),
                "fixAvailable": "YES", "exploitAvailable": "NO", "score": 9.8,
                "packageVulnerabilityDetails": {
                    "vulnerabilityId": format!("CVE-2026-10{i}"),
                    "vulnerablePackages": [{"name": "openssl", "version": "3.0.1"}]
                }
            })
        })
        .collect();
    json!({
        "registryId": "123456789012", "repositoryName": "app/web", "imageId": {"imageDigest": DIGEST_A},
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        "imageScanFindings": {
            "findingSeverityCounts": {"CRITICAL": n},
            "enhancedFindings": findings
        }
    })
}

async fn race(fake: &FakeEcr) {
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        Sequence::new(vec![
            ok(not_delivered_yet()),
            ok(not_delivered_yet()),
            ok(enhanced_criticals(1)),
            ok(enhanced_criticals(2)),
        ]),
    )
    .await;
}

const FAST_SETTLE: [&str; 6] = [
    "--settle",
    "0.5",
    "--poll-interval",
    "0.05",
    "--max-poll-interval",
    "0.2",
];

#[tokio::test(flavor = "multi_thread")]
async fn enhanced_findings_that_arrive_after_complete_are_judged_not_passed() {
    let fake = FakeEcr::start().await;
    fake.on(
        "GetRegistryScanningConfiguration",
        registry_scanning("ENHANCED"),
    )
    .await;
    race(&fake).await;
    let mut args = vec!["check", "app/web:v1", "-o", "json", "-v"];
    args.extend(FAST_SETTLE);
    let out = gate(&fake, &args).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let image = &json_out(&out)["images"][0];
    assert_eq!(image["counts"]["critical"]["violations"], 2, "the full set");
    assert!(stderr(&out).contains("settled"), "{}", stderr(&out));
    assert!(fake.calls("DescribeImageScanFindings").await.len() >= 5);
    assert_eq!(
        fake.calls("GetRegistryScanningConfiguration").await.len(),
        1
    );

    // The old behaviour, on request: the first usable answer is judged (and passes).
    let fake = FakeEcr::start().await;
    fake.on(
        "GetRegistryScanningConfiguration",
        registry_scanning("ENHANCED"),
    )
    .await;
    race(&fake).await;
    let out = gate(&fake, &["check", "app/web:v1", "--settle", "0"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_scanning_configuration_is_treated_as_enhanced_and_said_at_v() {
    let fake = FakeEcr::start().await;
    fake.on(
        "GetRegistryScanningConfiguration",
        aws_error(400, "AccessDeniedException", "not authorized"),
    )
    .await;
    race(&fake).await;
    let mut args = vec!["check", "app/web:v1", "-v"];
    args.extend(FAST_SETTLE);
    let out = gate(&fake, &args).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("treating the registry as enhanced"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn enhanced_findings_that_never_arrive_are_exit_3_did_not_settle() {
    let fake = FakeEcr::start().await;
    fake.on(
        "GetRegistryScanningConfiguration",
        registry_scanning("ENHANCED"),
    )
    .await;
    fake.image(DIGEST_A).await;
    fake.on("DescribeImageScanFindings", ok(not_delivered_yet()))
        .await;
    let mut args = vec!["check", "app/web:v1", "--timeout", "2"];
    args.extend(FAST_SETTLE);
    let out = gate(&fake, &args).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("did not settle"), "{}", stderr(&out));
}

/// An enhanced answer whose scan completed `completed` seconds from now on this machine's
/// clock, sent with a `Date` header `sent` seconds from now: ECR's clock, set apart from ours.
fn dated_answer(completed: i64, sent: i64) -> ResponseTemplate {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut page = enhanced_criticals(1);
    page["imageScanFindings"]["imageScanCompletedAt"] = json!(now + completed);
    let date = aws_smithy_types::DateTime::from_secs(now + sent)
        .fmt(aws_smithy_types::date_time::Format::HttpDate)
        .unwrap();
    ok(page).insert_header("date", date.as_str())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_settle_age_is_measured_on_ecrs_date_header_not_the_runner_clock() {
    let enhanced = |answer: ResponseTemplate| async move {
        let fake = FakeEcr::start().await;
        fake.on(
            "GetRegistryScanningConfiguration",
            registry_scanning("ENHANCED"),
        )
        .await;
        fake.image(DIGEST_A).await;
        fake.on("DescribeImageScanFindings", answer).await;
        fake
    };
    let args = |timeout: &'static str| {
        vec![
            "check",
            "app/web:v1",
            "-v",
            "--settle",
            "60s",
            "--timeout",
            timeout,
            "--poll-interval",
            "0.05",
            "--max-poll-interval",
            "0.2",
        ]
    };

    // This runner's clock 10 minutes ahead of ECR's: the scan completed 5 s ago on ECR's
    // clock (10 min 5 s ago on ours), so its findings may still be arriving.
    let fake = enhanced(dated_answer(-605, -600)).await;
    let out = gate(&fake, &args("2")).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("did not settle"), "{}", stderr(&out));

    // 10 minutes behind: the scan completed 2 minutes ago on ECR's clock (in our future).
    let fake = enhanced(dated_answer(480, 600)).await;
    let started = std::time::Instant::now();
    let out = gate(&fake, &args("30")).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the scan completed 2m ago"),
        "{}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "judged at once, not after the findings stayed the same for 60 s"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn under_basic_scanning_the_first_usable_answer_is_final() {
    let fake = FakeEcr::start().await;
    fake.on(
        "GetRegistryScanningConfiguration",
        registry_scanning("BASIC"),
    )
    .await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
    )
    .await;
    let started = std::time::Instant::now();
    let out = gate(&fake, &["check", "app/web:v1", "--settle", "30s"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(fake.calls("DescribeImageScanFindings").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn active_enhanced_scan_is_usable_and_maps_enhanced_findings() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    let page = json!({
        "registryId": "123456789012", "repositoryName": "app/web", "imageId": {"imageDigest": DIGEST_A},
        "imageScanStatus": {"status": "ACTIVE", "description": "Continuous scan is selected for image."},
        "imageScanFindings": {
            "findingSeverityCounts": {"CRITICAL": 1},
            "enhancedFindings": [{
                "severity": "CRITICAL", "status": "ACTIVE", "title": "CVE-2026-9 - openssl", "score": 9.8,
                "fixAvailable": "YES", "exploitAvailable": "YES", "updatedAt": 1763630071,
                "packageVulnerabilityDetails": {
                    "vulnerabilityId": "CVE-2026-9", "sourceUrl": "https://nvd.nist.gov/vuln/detail/CVE-2026-9",
                    "vulnerablePackages": [{"name": "openssl", "version": "3.0.1", "release": "1", "fixedInVersion": "3.0.9"},
                                           {"name": "libssl3", "version": "3.0.1", "fixedInVersion": "NotAvailable"}]
                }
            }]
        }
    });
    fake.on("DescribeImageScanFindings", ok(page)).await;
    let out = gate(&fake, &["check", "app/web:v1", "-o", "json"]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let image = &json_out(&out)["images"][0];
    assert_eq!(image["scan"]["type"], "enhanced");
    assert_eq!(image["scan"]["status"], "ACTIVE");
    let finding = &image["findings"][0];
    assert_eq!(finding["id"], "CVE-2026-9");
    assert_eq!(
        finding["packages"].as_array().unwrap().len(),
        2,
        "one finding with two packages"
    );
    assert_eq!(finding["fixed_in"], "3.0.9");
    assert_eq!(finding["packages"][1]["fixed_in"], Value::Null);
    assert_eq!(finding["exploit_available"], true);
    assert_eq!(finding["cvss"]["score"], 9.8);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_status_is_a_scan_error_exit_3_naming_it() {
    for status in [
        "FAILED",
        "UNSUPPORTED_IMAGE",
        "SCAN_ELIGIBILITY_EXPIRED",
        "FINDINGS_UNAVAILABLE",
        "LIMIT_EXCEEDED",
        "IMAGE_ARCHIVED",
        "IMAGE_SIZE_EXCEEDED",
        "SOME_FUTURE_STATUS",
    ] {
        let fake = FakeEcr::start().await;
        fake.image(DIGEST_A).await;
        fake.on(
            "DescribeImageScanFindings",
            ok(scan_page(DIGEST_A, status, vec![], None)),
        )
        .await;
        let out = gate(&fake, &["check", "app/web:v1", "-o", "json"]).await;
        assert_eq!(code(&out), 3, "{status}: {}", stderr(&out));
        let report = json_out(&out);
        assert_eq!(report["verdict"], "error", "{status}");
        assert_eq!(report["images"][0]["error"]["kind"], "scan");
        assert!(
            report["images"][0]["error"]["message"]
                .as_str()
                .unwrap()
                .contains(status),
            "{status}: {report}"
        );
        assert!(stderr(&out).contains(status), "{status}: {}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_not_found_within_the_grace_period_then_found_passes() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        Sequence::new(vec![
            aws_error(400, "ScanNotFoundException", "Image scan does not exist"),
            aws_error(400, "ScanNotFoundException", "Image scan does not exist"),
            ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
        ]),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_not_found_after_the_grace_period_is_exit_3_with_advice() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        aws_error(400, "ScanNotFoundException", "Image scan does not exist"),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1", "--scan-grace", "0.2"]).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("--start-scan"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_that_never_finishes_times_out_with_exit_3() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(DIGEST_A, "IN_PROGRESS", vec![], None)),
    )
    .await;
    let started = std::time::Instant::now();
    let out = gate(
        &fake,
        &["check", "app/web:v1", "--timeout", "0.5", "-o", "json"],
    )
    .await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(
        report["images"][0]["scan"]["status"], "IN_PROGRESS",
        "the last status seen is reported"
    );
    assert!(
        started.elapsed().as_secs_f64() < 5.0,
        "the waiter stops at the deadline"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn start_scan_starts_a_missing_scan_then_polls_it() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "StartImageScan",
        ok(json!({"imageScanStatus": {"status": "IN_PROGRESS"}})),
    )
    .await;
    fake.on(
        "DescribeImageScanFindings",
        Sequence::new(vec![
            aws_error(400, "ScanNotFoundException", "Image scan does not exist"),
            ok(scan_page(DIGEST_A, "IN_PROGRESS", vec![], None)),
            ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
        ]),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1", "--start-scan"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let starts = fake.calls("StartImageScan").await;
    assert_eq!(starts.len(), 1);
    assert_eq!(
        starts[0]["imageId"]["imageDigest"], DIGEST_A,
        "the scan is started by digest"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn start_scan_refused_with_limit_exceeded_while_no_scan_exists_is_exit_3_at_once() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "StartImageScan",
        aws_error(
            400,
            "LimitExceededException",
            "The scan quota per image has been exceeded. Wait and try again.",
        ),
    )
    .await;
    fake.on(
        "DescribeImageScanFindings",
        aws_error(400, "ScanNotFoundException", "Image scan does not exist"),
    )
    .await;
    let started = std::time::Instant::now();
    let out = gate(
        &fake,
        &[
            "check",
            "app/web:v1",
            "--start-scan",
            "--timeout",
            "60",
            "--scan-grace",
            "30",
        ],
    )
    .await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "no waiting for a scan that will not come"
    );
    assert_eq!(
        fake.calls("StartImageScan").await.len(),
        1,
        "LimitExceeded must not burn retries"
    );
    assert!(stderr(&out).contains("24 hours"), "{}", stderr(&out));
}

/// StartImageScan's answer under enhanced scanning, byte for byte as ECR sends it: its message
/// does not say "enhanced".
fn feature_disabled() -> ResponseTemplate {
    ResponseTemplate::new(400)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(r#"{"__type":"ValidationException","message":"This feature is disabled"}"#)
}

#[tokio::test(flavor = "multi_thread")]
async fn start_scan_refused_as_this_feature_is_disabled_says_enhanced_scanning_and_exits_3() {
    let fake = FakeEcr::start().await;
    // The scanning configuration cannot be read, so the gate does not know and asks.
    fake.on(
        "GetRegistryScanningConfiguration",
        aws_error(400, "AccessDeniedException", "not authorized"),
    )
    .await;
    fake.image(DIGEST_A).await;
    fake.on("StartImageScan", feature_disabled()).await;
    fake.on(
        "DescribeImageScanFindings",
        aws_error(400, "ScanNotFoundException", "Image scan does not exist"),
    )
    .await;
    let started = std::time::Instant::now();
    let out = gate(
        &fake,
        &[
            "check",
            "app/web:v1",
            "--start-scan",
            "--scan-grace",
            "30",
            "--timeout",
            "60",
        ],
    )
    .await;
    let stderr = stderr(&out);
    assert_eq!(code(&out), 3, "{stderr}");
    for words in [
        "This feature is disabled",
        "the registry scans with enhanced scanning (Amazon Inspector)",
        "on its own",
        "--start-scan does not apply: drop it",
    ] {
        assert!(stderr.contains(words), "{words}: {stderr}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "no waiting through the grace for a scan --start-scan will not bring"
    );
    assert_eq!(fake.calls("StartImageScan").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn start_scan_is_not_called_where_the_registry_is_known_to_scan_enhanced() {
    let fake = FakeEcr::start().await;
    fake.on(
        "GetRegistryScanningConfiguration",
        registry_scanning("ENHANCED"),
    )
    .await;
    fake.image(DIGEST_A).await;
    fake.on("StartImageScan", feature_disabled()).await;
    fake.on(
        "DescribeImageScanFindings",
        Sequence::new(vec![
            aws_error(400, "ScanNotFoundException", "Image scan does not exist"),
            ok(enhanced_criticals(1)),
        ]),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1", "--start-scan", "-v"]).await;
    let stderr = stderr(&out);
    assert_eq!(code(&out), 1, "Inspector's findings are judged: {stderr}");
    assert!(fake.calls("StartImageScan").await.is_empty(), "{stderr}");
    assert!(
        stderr.contains("--start-scan does not apply") && stderr.contains("Amazon Inspector"),
        "said at -v: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn start_scan_validation_exception_not_about_enhanced_scanning_is_exit_4() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "StartImageScan",
        aws_error(400, "ValidationException", "1 validation error detected"),
    )
    .await;
    fake.on(
        "DescribeImageScanFindings",
        aws_error(400, "ScanNotFoundException", "Image scan does not exist"),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1", "--start-scan"]).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ValidationException"),
        "{}",
        stderr(&out)
    );
}

fn page_of(n: usize, start: usize) -> Vec<Value> {
    (start..start + n)
        .map(|i| basic_finding(&format!("CVE-2026-{i:05}"), "LOW", &format!("pkg{i}")))
        .collect()
}

/// `pages` pages of 100 LOW findings; page i links to page i+1 with `token-{i+1}`.
fn paged(pages: usize, last_token: Option<&str>) -> ByToken {
    let total = pages * 100;
    let mut answers = std::collections::HashMap::new();
    for p in 0..pages {
        let token = if p + 1 < pages {
            Some(format!("token-{}", p + 1))
        } else {
            last_token.map(str::to_string)
        };
        let mut page = scan_page(
            DIGEST_A,
            "COMPLETE",
            page_of(100, p * 100),
            token.as_deref(),
        );
        page["imageScanFindings"]["findingSeverityCounts"] = json!({"LOW": total});
        answers.insert((p > 0).then(|| format!("token-{p}")), ok(page));
    }
    ByToken(answers)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_is_read_and_counts_reconcile() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on("DescribeImageScanFindings", paged(50, None)).await;
    let out = gate(
        &fake,
        &["check", "app/web:v1", "-o", "json", "--fail-on", "none"],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(report["images"][0]["counts"]["low"]["total"], 5000);
    assert_eq!(
        report["images"][0]["findings"].as_array().unwrap().len(),
        5000
    );
    assert!(
        report["warnings"].as_array().unwrap().is_empty(),
        "{}",
        report["warnings"]
    );
    assert_eq!(
        fake.calls("DescribeImageScanFindings").await.len(),
        50,
        "the waiter's page is reused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeating_next_token_is_an_aws_error_never_a_partial_pass() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    // The last page points back at page 2: the SDK paginator would stop silently here.
    fake.on("DescribeImageScanFindings", paged(3, Some("token-2")))
        .await;
    let out = gate(
        &fake,
        &["check", "app/web:v1", "-o", "json", "--fail-on", "none"],
    )
    .await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(report["verdict"], "error");
    assert!(
        report["images"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nextToken"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_then_success_is_retried_by_the_sdk() {
    let fake = FakeEcr::start().await;
    fake.on(
        "DescribeImages",
        Sequence::new(vec![
            aws_error(400, "ThrottlingException", "Rate exceeded"),
            ok(image_details(
                DIGEST_A,
                "application/vnd.oci.image.manifest.v1+json",
            )),
        ]),
    )
    .await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(fake.calls("DescribeImages").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_that_outlast_the_retries_are_exit_4() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        aws_error(500, "ServerException", "internal error"),
    )
    .await;
    let out = gate(
        &fake,
        &[
            "check",
            "app/web:v1",
            "--max-attempts",
            "2",
            "--timeout",
            "0.3",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let calls = fake.calls("DescribeImageScanFindings").await.len();
    assert!(
        calls >= 2 && calls % 2 == 0,
        "2 SDK attempts per poll until the deadline: {calls}"
    );
    let report = json_out(&out);
    assert_eq!(report["images"][0]["error"]["kind"], "aws");
    assert!(report["images"][0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ServerException"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_waiter_rides_out_a_burst_of_server_errors() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        Sequence::new(vec![
            aws_error(500, "ServerException", "internal error"),
            aws_error(500, "ServerException", "internal error"),
            ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
        ]),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1", "--max-attempts", "1"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_429_without_an_error_code_is_retried_like_throttling() {
    // A proxy or gateway's "slow down": no AWS error code, an empty or plain-text body.
    for body in ["", "Too Many Requests"] {
        let fake = FakeEcr::start().await;
        fake.on(
            "DescribeImages",
            Sequence::new(vec![
                ResponseTemplate::new(429).set_body_string(body),
                ResponseTemplate::new(429).set_body_string(body),
                ok(image_details(
                    DIGEST_A,
                    "application/vnd.oci.image.manifest.v1+json",
                )),
            ]),
        )
        .await;
        fake.on(
            "DescribeImageScanFindings",
            ok(scan_page(
                DIGEST_A,
                "COMPLETE",
                vec![basic_finding("CVE-2026-1", "HIGH", "openssl")],
                None,
            )),
        )
        .await;
        let out = gate(&fake, &["check", "app/web:v1", "-v"]).await;
        assert_eq!(code(&out), 1, "{body:?}: {}", stderr(&out));
        assert_eq!(fake.calls("DescribeImages").await.len(), 3, "{body:?}");
        assert!(
            stderr(&out).contains("HTTP 429"),
            "{body:?}: known as a 429, not a network fault: {}",
            stderr(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_that_outlasts_the_retries_is_exit_4() {
    let fake = FakeEcr::start().await;
    fake.on(
        "DescribeImages",
        aws_error(400, "ThrottlingException", "Rate exceeded"),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1", "--max-attempts", "2"]).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ThrottlingException"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_names_the_missing_iam_action() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        aws_error(
            400,
            "AccessDeniedException",
            "User is not authorized to perform: ecr:DescribeImageScanFindings",
        ),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1"]).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("AccessDeniedException")
            && err.contains("must allow ecr:DescribeImageScanFindings"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_repository_or_image_is_exit_4() {
    for (code_name, hint) in [
        ("RepositoryNotFoundException", "repository name"),
        ("ImageNotFoundException", "tag or digest"),
    ] {
        let fake = FakeEcr::start().await;
        fake.on("DescribeImages", aws_error(400, code_name, "not found"))
            .await;
        let out = gate(&fake, &["check", "app/web:v1"]).await;
        assert_eq!(code(&out), 4, "{code_name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(code_name) && stderr(&out).contains(hint),
            "{}",
            stderr(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_that_moves_during_the_wait_cannot_change_what_is_judged() {
    let fake = FakeEcr::start().await;
    // The tag resolves to A once. Had anything asked by tag later, it would have found B's
    // failing findings; every findings call must name digest A.
    fake.on(
        "DescribeImages",
        Sequence::new(vec![
            ok(image_details(
                DIGEST_A,
                "application/vnd.oci.image.manifest.v1+json",
            )),
            ok(image_details(
                DIGEST_B,
                "application/vnd.oci.image.manifest.v1+json",
            )),
        ]),
    )
    .await;
    fake.on_body(
        "DescribeImageScanFindings",
        DIGEST_A,
        Sequence::new(vec![
            ok(scan_page(DIGEST_A, "IN_PROGRESS", vec![], None)),
            ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
        ]),
    )
    .await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(
            DIGEST_B,
            "COMPLETE",
            vec![basic_finding("CVE-1", "CRITICAL", "x")],
            None,
        )),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1", "-o", "json"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for call in fake.calls("DescribeImageScanFindings").await {
        assert_eq!(
            call["imageId"],
            json!({"imageDigest": DIGEST_A}),
            "asked by digest, never by tag"
        );
    }
    let image = &json_out(&out)["images"][0];
    assert_eq!(
        (image["tag"].as_str(), image["digest"].as_str()),
        (Some("v1"), Some(DIGEST_A)),
        "reports show both"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_arch_index_is_gated_per_platform() {
    let fake = FakeEcr::start().await;
    fake.on(
        "DescribeImages",
        ok(image_details(
            DIGEST_A,
            "application/vnd.oci.image.index.v1+json",
        )),
    )
    .await;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": DIGEST_B, "size": 1,
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": DIGEST_C, "size": 1,
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd", "size": 1,
             "platform": {"os": "unknown", "architecture": "unknown"},
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}
        ]
    });
    fake.on(
        "BatchGetImage",
        ok(json!({"images": [{"registryId": "123456789012", "repositoryName": "app/web",
                  "imageId": {"imageDigest": DIGEST_A}, "imageManifest": index.to_string(),
                  "imageManifestMediaType": "application/vnd.oci.image.index.v1+json"}], "failures": []})),
    )
    .await;
    fake.on_body(
        "DescribeImageScanFindings",
        DIGEST_B,
        ok(scan_page(DIGEST_B, "COMPLETE", vec![], None)),
    )
    .await;
    fake.on_body(
        "DescribeImageScanFindings",
        DIGEST_C,
        ok(scan_page(
            DIGEST_C,
            "COMPLETE",
            vec![basic_finding("CVE-2026-7", "CRITICAL", "glibc")],
            None,
        )),
    )
    .await;
    let out = gate(&fake, &["check", "app/web:v1", "-o", "json"]).await;
    assert_eq!(
        code(&out),
        1,
        "arm64 fails, so the index fails: {}",
        stderr(&out)
    );
    let report = json_out(&out);
    let images = report["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "attestation manifests are not images");
    assert_eq!(
        (
            images[0]["platform"].as_str(),
            images[0]["verdict"].as_str()
        ),
        (Some("linux/amd64"), Some("pass"))
    );
    assert_eq!(
        (
            images[1]["platform"].as_str(),
            images[1]["verdict"].as_str()
        ),
        (Some("linux/arm64/v8"), Some("fail"))
    );
    assert!(images.iter().all(|i| i["index_digest"] == DIGEST_A));
}

#[tokio::test(flavor = "multi_thread")]
async fn many_images_are_reported_together_and_the_worst_exit_wins() {
    let fake = FakeEcr::start().await;
    fake.on_body(
        "DescribeImages",
        "\"pass\"",
        ok(image_details(
            DIGEST_A,
            "application/vnd.oci.image.manifest.v1+json",
        )),
    )
    .await;
    fake.on_body(
        "DescribeImages",
        "\"fail\"",
        ok(image_details(
            DIGEST_B,
            "application/vnd.oci.image.manifest.v1+json",
        )),
    )
    .await;
    fake.on_body(
        "DescribeImages",
        "\"broken\"",
        ok(image_details(
            DIGEST_C,
            "application/vnd.oci.image.manifest.v1+json",
        )),
    )
    .await;
    fake.on_body(
        "DescribeImageScanFindings",
        DIGEST_A,
        ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
    )
    .await;
    fake.on_body(
        "DescribeImageScanFindings",
        DIGEST_B,
        ok(scan_page(
            DIGEST_B,
            "COMPLETE",
            vec![basic_finding("CVE-1", "HIGH", "x")],
            None,
        )),
    )
    .await;
    fake.on_body(
        "DescribeImageScanFindings",
        DIGEST_C,
        ok(scan_page(DIGEST_C, "FAILED", vec![], None)),
    )
    .await;
    let out = gate(
        &fake,
        &["check", "app/web:pass", "app/web:fail", "-o", "json"],
    )
    .await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let out = gate(
        &fake,
        &[
            "check",
            "app/web:pass",
            "app/web:fail",
            "app/web:broken",
            "-o",
            "json",
            "--concurrency",
            "2",
        ],
    )
    .await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let report = json_out(&out);
    let verdicts: Vec<&str> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["pass", "fail", "error"], "input order is kept");
    assert_eq!(report["verdict"], "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_and_evaluate_agree_on_the_same_findings() {
    let root = env!("CARGO_MANIFEST_DIR");
    for fixture in [
        "fixtures/epoch-timestamps.json",
        "fixtures/enhanced-epoch.json",
    ] {
        let saved: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{root}/{fixture}")).unwrap())
                .unwrap();
        let digest = saved["imageId"]["imageDigest"]
            .as_str()
            .unwrap()
            .to_string();
        let repository = saved["repositoryName"].as_str().unwrap().to_string();
        let fake = FakeEcr::start().await;
        let mut details = image_details(&digest, "application/vnd.oci.image.manifest.v1+json");
        details["imageDetails"][0]["repositoryName"] = json!(repository);
        fake.on("DescribeImages", ok(details)).await;
        fake.on("DescribeImageScanFindings", ok(saved.clone()))
            .await;
        // Ask the way the saved response was asked: by tag when it has one, else by digest.
        let reference = match saved["imageId"]["imageTag"].as_str() {
            Some(tag) => format!("{repository}:{tag}"),
            None => format!("{repository}@{digest}"),
        };
        let live = gate(
            &fake,
            &[
                "check",
                &reference,
                "-o",
                "json",
                "--registry-id",
                "123456789012",
            ],
        )
        .await;
        let offline = gate(
            &fake,
            &["evaluate", &format!("{root}/{fixture}"), "-o", "json"],
        )
        .await;
        assert_eq!(code(&live), code(&offline), "{}", stderr(&live));
        let strip = |mut v: Value| {
            for image in v["images"].as_array_mut().unwrap() {
                let image = image.as_object_mut().unwrap();
                image.remove("source");
                image.remove("region");
            }
            v
        };
        assert_eq!(
            strip(json_out(&live)),
            strip(json_out(&offline)),
            "{fixture}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_exits_0_once_usable_and_prints_a_status_line() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        Sequence::new(vec![
            ok(scan_page(DIGEST_A, "IN_PROGRESS", vec![], Some("t"))),
            ok(scan_page(
                DIGEST_A,
                "COMPLETE",
                vec![basic_finding("CVE-1", "CRITICAL", "x")],
                Some("t"),
            )),
        ]),
    )
    .await;
    let out = gate(&fake, &["wait", "app/web:v1"]).await;
    assert_eq!(code(&out), 0, "wait does not judge: {}", stderr(&out));
    assert!(
        stderr(&out).contains("COMPLETE (usable)"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        fake.calls("DescribeImageScanFindings").await.len(),
        2,
        "no pages beyond the first"
    );

    let out = gate(&fake, &["wait", "app/web:v1", "-o", "json"]).await;
    let report = json_out(&out);
    let image = &report["images"][0];
    assert!(image.get("findings").is_none(), "{image:#}");
    assert_eq!(image["counts"], Value::Null, "wait counts nothing");
    assert_eq!(image["scan"]["status"], "COMPLETE");
    assert_eq!(report["verdict"], "pass");

    for format in ["console", "markdown"] {
        let out = gate(&fake, &["wait", "app/web:v1", "-o", format]).await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            text.contains("scan usable") || text.contains("usable"),
            "{text}"
        );
        for verdict in ["PASS", "FAIL", "pass", "fail", "Violations"] {
            assert!(
                !text.contains(verdict),
                "{format} shows a policy verdict: {text}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_with_a_judging_report_format_is_a_usage_error_before_any_call() {
    let fake = FakeEcr::start().await;
    for format in ["sarif", "junit", "gitlab"] {
        let out = gate(
            &fake,
            &["wait", "app/web:v1", "-o", &format!("{format}=x.out")],
        )
        .await;
        assert_eq!(code(&out), 2, "{format}: {}", stderr(&out));
        assert!(stderr(&out).contains("judges nothing"), "{}", stderr(&out));
    }
    assert!(fake.calls("DescribeImages").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_exits_3_when_the_scan_failed() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(DIGEST_A, "FAILED", vec![], None)),
    )
    .await;
    let out = gate(&fake, &["wait", "app/web:v1"]).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("not usable"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_references_and_contradicting_flags_are_usage_errors_before_any_call() {
    let fake = FakeEcr::start().await;
    for args in [
        vec!["check", "App/Web:v1"],
        vec!["check", "app/web@sha256:1234"],
        vec![
            "check",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:v1",
            "--region",
            "eu-west-1",
        ],
        vec![
            "check",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:v1",
            "--registry-id",
            "999999999999",
        ],
        vec!["check", "app/web:v1", "-o", "json", "-o", "sarif"],
        vec!["check", "app/web:v1", "--timeout", "soon"],
        vec![
            "wait",
            "app/web:v1",
            "--poll-interval",
            "10",
            "--max-poll-interval",
            "1",
        ],
    ] {
        let out = gate(&fake, &args).await;
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
    assert!(
        fake.calls("DescribeImages").await.is_empty(),
        "no AWS call before a usage error"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_region_anywhere_is_a_usage_error() {
    let endpoint = String::new();
    let out = tokio::task::spawn_blocking(move || {
        run_blocking(
            endpoint,
            vec!["check".into(), "app/web:v1".into()],
            vec![("AWS_REGION".into(), String::new())],
        )
    })
    .await
    .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("region"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credentials_at_all_is_one_line_to_act_on_and_exit_4_at_once() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    let started = std::time::Instant::now();
    let out = gate_env(
        &fake,
        &["check", "app/web:v1", "--timeout", "30"],
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
    )
    .await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("no AWS credentials found"), "{err}");
    assert!(err.contains("AWS_ACCESS_KEY_ID"), "says what to set: {err}");
    assert!(
        !err.contains("Attempted"),
        "the provider chain is for -v: {err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "missing credentials are not retried until the deadline"
    );
    let out = gate_env(
        &fake,
        &["check", "app/web:v1", "-v"],
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
    )
    .await;
    assert!(
        stderr(&out).contains("Attempted"),
        "-v keeps the chain: {}",
        stderr(&out)
    );
}

/// The GitHub OIDC path: a web identity token file and a role, exchanged at a local STS for
/// session credentials that then sign every ECR call. Neither the secret key nor the session
/// token may appear anywhere, at -vv or under RUST_LOG=trace.
#[tokio::test(flavor = "multi_thread")]
async fn oidc_session_credentials_never_reach_stdout_stderr_or_reports() {
    const KEY_ID: &str = "ASIAFAKESTSKEY000001";
    const SECRET: &str = "sts-secret-key-do-not-print-0001";
    const TOKEN: &str = "sts-session-token-do-not-print-0002";
    let sts = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::body_string_contains("AssumeRoleWithWebIdentity"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!(
                r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>{KEY_ID}</AccessKeyId>
      <SecretAccessKey>{SECRET}</SecretAccessKey>
      <SessionToken>{TOKEN}</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <SubjectFromWebIdentityToken>repo:org/app:ref:refs/heads/main</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/ecr-scan-gate/ci</Arn>
      <AssumedRoleId>AROAEXAMPLE:ci</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"#
            ),
            "text/xml",
        ))
        .mount(&sts)
        .await;
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oidc-token");
    std::fs::write(&token_file, "eyJ.fake-github-oidc-token.sig").unwrap();
    let sts_uri = sts.uri();
    let token_path = token_file.display().to_string();
    let report = dir.path().join("report.json");
    let json_arg = format!("json={}", report.display());
    let env = [
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token_path.as_str()),
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/ecr-scan-gate",
        ),
        ("AWS_ROLE_SESSION_NAME", "ci"),
        ("AWS_ENDPOINT_URL_STS", sts_uri.as_str()),
    ];
    for (verbosity, rust_log) in [("-vv", ""), ("-q", "trace")] {
        let mut env = env.to_vec();
        env.push(("RUST_LOG", rust_log));
        let args = [
            "check",
            "app/web:v1",
            verbosity,
            "-o",
            &json_arg,
            "-o",
            "sarif",
        ];
        let out = gate_env(&fake, &args, &env).await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let report = std::fs::read_to_string(&report).unwrap();
        let all = format!(
            "{}{}{report}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
        for secret in [SECRET, TOKEN, "Signature=", "x-amz-security-token"] {
            assert!(
                !all.contains(secret),
                "{secret} leaked at {verbosity} RUST_LOG={rust_log}"
            );
        }
    }
    // The OIDC path was really taken: STS was asked, and ECR calls carry its key id.
    assert!(!sts.received_requests().await.unwrap().is_empty());
    let signed = fake
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .any(|r| {
            r.headers
                .get("authorization")
                .is_some_and(|v| v.to_str().unwrap_or("").contains(KEY_ID))
        });
    assert!(signed, "ECR calls are signed with the STS credentials");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oidc_role_that_refuses_the_token_is_exit_4_at_once_naming_the_trust_policy() {
    let sts = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>1</RequestId></ErrorResponse>"#,
            "text/xml",
        ))
        .mount(&sts)
        .await;
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oidc-token");
    std::fs::write(&token_file, "eyJ.fake.sig").unwrap();
    let (sts_uri, token_path) = (sts.uri(), token_file.display().to_string());
    let started = std::time::Instant::now();
    let out = gate_env(
        &fake,
        &["check", "app/web:v1", "--timeout", "60"],
        &[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token_path.as_str()),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::123456789012:role/ecr-scan-gate",
            ),
            ("AWS_ENDPOINT_URL_STS", sts_uri.as_str()),
        ],
    )
    .await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("trust policy"), "{}", stderr(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "a refused role is not retried until the deadline"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_never_reach_the_logs_even_at_vv() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
    )
    .await;
    let env = [
        ("AWS_SESSION_TOKEN", "SESSIONTOKENSECRET123"),
        ("AWS_SECRET_ACCESS_KEY", "SECRETKEYSECRET456"),
    ];
    for verbosity in ["-vv", "-v"] {
        let out = gate_env(&fake, &["check", "app/web:v1", verbosity], &env).await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(
            all.contains("DescribeImageScanFindings"),
            "-v logs every API call: {all}"
        );
        for secret in [
            "SESSIONTOKENSECRET123",
            "SECRETKEYSECRET456",
            "Signature=",
            "x-amz-security-token",
        ] {
            assert!(!all.contains(secret), "{secret} leaked at {verbosity}");
        }
    }
    let out = gate_env(
        &fake,
        &["check", "app/web:v1"],
        &[("RUST_LOG", "trace"), env[0], env[1]],
    )
    .await;
    let all = stderr(&out);
    for secret in ["SESSIONTOKENSECRET123", "SECRETKEYSECRET456", "Signature="] {
        assert!(
            !all.contains(secret),
            "{secret} leaked under RUST_LOG=trace"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_end_to_end_fails_and_passes_as_its_findings_dictate() {
    let Some(moto) = Moto::start() else { return };
    let digest = moto.python(
        r#"
ecr.create_repository(repositoryName='app/web')
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
               "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"}, "layers": []})
image = ecr.put_image(repositoryName='app/web', imageTag='v1', imageManifest=manifest)['image']
ecr.start_image_scan(repositoryName='app/web', imageId={'imageTag': 'v1'})
print(image['imageId']['imageDigest'])
"#,
    );
    let run = |args: Vec<&str>| {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["--endpoint-url".to_string(), moto.url.clone()]);
        run_blocking(String::new(), all, vec![])
    };
    // moto's default finding is one HIGH: the default policy fails it.
    let out = run(vec!["check", "app/web:v1", "-o", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(report["images"][0]["digest"], digest.as_str());
    assert_eq!(report["images"][0]["registry_id"], "123456789012");
    assert_eq!(report["images"][0]["counts"]["high"]["violations"], 1);

    // Custom findings, registered by digest since check asks by digest after resolving.
    moto.python(&format!(
        r#"
requests.post(MOTO + '/moto-api/static/ecr/scan-finding-results', json={{'region': 'us-east-1', 'results': [{{
    'registryId': '123456789012', 'repositoryName': 'app/web', 'imageId': {{'imageDigest': '{digest}'}},
    'imageScanStatus': {{'status': 'COMPLETE', 'description': 'ok'}},
    'imageScanFindings': {{'imageScanCompletedAt': 1763630071, 'findingSeverityCounts': {{'LOW': 1}},
        'findings': [{{'name': 'CVE-2026-0001', 'severity': 'LOW', 'attributes': [{{'key': 'package_name', 'value': 'zlib'}}]}}]}}
}}]}}).raise_for_status()
"#
    ));
    let out = run(vec!["check", "app/web:v1", "-o", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        json_out(&out)["images"][0]["findings"][0]["id"],
        "CVE-2026-0001"
    );
    let out = run(vec!["check", "app/web:v1", "--fail-on", "low"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));

    // A repository that does not exist is an AWS error, not a pass.
    let out = run(vec!["check", "app/missing:v1"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let out = run(vec!["wait", "app/web:v1"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}
