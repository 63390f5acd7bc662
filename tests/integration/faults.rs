//! The fault matrix: every ECR operation the gate calls × every fault a real or broken ECR can
//! give, each run through the real binary against the scripted fake, with the exit code the
//! contract asks for. The scenario behind every row would fail the policy (a HIGH finding on
//! page 2 of 2, inside a multi-arch index), so a fault that made the gate skip something shows
//! up as exit 0. The README prints this table.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::{Match, Mock, Request, ResponseTemplate};

use crate::fake_ecr::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    DescribeImages,
    RegistryScanning,
    BatchGetImage,
    FindingsPage1,
    FindingsPage2,
    StartImageScan,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    ThrottlingThatClears,
    ThrottlingThatPersists,
    Http500,
    Http503,
    Html502,
    ConnectionReset,
    SlowPastTheTimeout,
    MalformedJson,
    EmptyObject,
    RepeatingToken,
    AccessDenied,
    NotFound,
    UnknownStatus,
    StatusChangeMidRead,
    TagMove,
    FindingsStillArriving,
    LimitExceeded,
    FeatureDisabled,
}

use Fault::*;
use Op::*;

/// (operation, fault, exit code). Never 0: every scenario fails the policy when read whole.
const MATRIX: &[(Op, Fault, i32)] = &[
    (DescribeImages, ThrottlingThatClears, 1),
    (DescribeImages, ThrottlingThatPersists, 4),
    (DescribeImages, Http500, 4),
    (DescribeImages, Http503, 4),
    (DescribeImages, Html502, 4),
    (DescribeImages, ConnectionReset, 4),
    (DescribeImages, SlowPastTheTimeout, 4),
    (DescribeImages, MalformedJson, 4),
    (DescribeImages, EmptyObject, 4),
    (DescribeImages, AccessDenied, 4),
    (DescribeImages, NotFound, 4),
    (DescribeImages, TagMove, 1),
    // The scanning configuration only decides how long to wait: any fault means "enhanced".
    (RegistryScanning, ThrottlingThatPersists, 1),
    (RegistryScanning, Http500, 1),
    (RegistryScanning, MalformedJson, 1),
    (RegistryScanning, EmptyObject, 1),
    (RegistryScanning, AccessDenied, 1),
    (BatchGetImage, ThrottlingThatClears, 1),
    (BatchGetImage, ThrottlingThatPersists, 4),
    (BatchGetImage, Http500, 4),
    (BatchGetImage, Html502, 4),
    (BatchGetImage, SlowPastTheTimeout, 4),
    (BatchGetImage, MalformedJson, 4),
    (BatchGetImage, EmptyObject, 4),
    (BatchGetImage, AccessDenied, 4),
    (FindingsPage1, ThrottlingThatClears, 1),
    (FindingsPage1, ThrottlingThatPersists, 4),
    (FindingsPage1, Http500, 4),
    (FindingsPage1, Http503, 4),
    (FindingsPage1, Html502, 4),
    (FindingsPage1, SlowPastTheTimeout, 4),
    (FindingsPage1, MalformedJson, 4),
    (FindingsPage1, EmptyObject, 4),
    (FindingsPage1, AccessDenied, 4),
    (FindingsPage1, NotFound, 3),
    (FindingsPage1, UnknownStatus, 3),
    (FindingsPage1, FindingsStillArriving, 1),
    (FindingsPage2, ThrottlingThatClears, 1),
    (FindingsPage2, ThrottlingThatPersists, 4),
    (FindingsPage2, Http500, 4),
    (FindingsPage2, Html502, 4),
    (FindingsPage2, SlowPastTheTimeout, 4),
    (FindingsPage2, MalformedJson, 4),
    (FindingsPage2, EmptyObject, 4),
    (FindingsPage2, AccessDenied, 4),
    (FindingsPage2, NotFound, 4),
    (FindingsPage2, RepeatingToken, 4),
    (FindingsPage2, StatusChangeMidRead, 4),
    (StartImageScan, ThrottlingThatClears, 1),
    (StartImageScan, ThrottlingThatPersists, 4),
    (StartImageScan, Http500, 4),
    (StartImageScan, AccessDenied, 4),
    (StartImageScan, LimitExceeded, 3),
    // ECR's refusal under enhanced scanning, given whatever the configuration said.
    (StartImageScan, FeatureDisabled, 3),
];

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const IMAGE: &str = "application/vnd.oci.image.manifest.v1+json";

fn counts() -> Value {
    json!({"HIGH": 1, "LOW": 1})
}

fn page(status: &str, finding: Value, token: Option<&str>) -> Value {
    let mut p = scan_page(DIGEST_A, status, vec![finding], token);
    p["imageScanFindings"]["findingSeverityCounts"] = counts();
    p
}

fn page1() -> Value {
    page(
        "COMPLETE",
        basic_finding("CVE-2026-1", "LOW", "zlib"),
        Some("t1"),
    )
}

fn page2() -> Value {
    page(
        "COMPLETE",
        basic_finding("CVE-2026-2", "HIGH", "openssl"),
        None,
    )
}

fn index_manifest() -> Value {
    json!({"images": [{
        "registryId": "123456789012", "repositoryName": "app/web",
        "imageId": {"imageDigest": DIGEST_C},
        "imageManifestMediaType": INDEX,
        "imageManifest": json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
            {"digest": DIGEST_A, "mediaType": IMAGE, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}}
        ]}).to_string()
    }], "failures": []})
}

/// The answer the operation gives when nothing is wrong.
fn normal(op: Op) -> ResponseTemplate {
    match op {
        DescribeImages => ok(image_details(DIGEST_C, INDEX)),
        RegistryScanning => registry_scanning("BASIC"),
        BatchGetImage => ok(index_manifest()),
        FindingsPage1 => ok(page1()),
        FindingsPage2 => ok(page2()),
        StartImageScan => ok(json!({"imageScanStatus": {"status": "IN_PROGRESS"}})),
    }
}

fn target(op: Op) -> &'static str {
    match op {
        DescribeImages => "DescribeImages",
        RegistryScanning => "GetRegistryScanningConfiguration",
        BatchGetImage => "BatchGetImage",
        FindingsPage1 | FindingsPage2 => "DescribeImageScanFindings",
        StartImageScan => "StartImageScan",
    }
}

/// Matches the operation, and for findings pages which page it is.
struct Is(Op);

impl Match for Is {
    fn matches(&self, request: &Request) -> bool {
        let wanted = format!("AmazonEC2ContainerRegistry_V20150921.{}", target(self.0));
        let op_matches = request
            .headers
            .get("x-amz-target")
            .is_some_and(|v| v.to_str().unwrap_or("") == wanted);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        op_matches
            && match self.0 {
                FindingsPage1 => body.get("nextToken").is_none(),
                FindingsPage2 => body.get("nextToken").is_some(),
                _ => true,
            }
    }
}

fn throttling() -> ResponseTemplate {
    aws_error(400, "ThrottlingException", "Rate exceeded")
}

/// The faulty answers for `op`, in order (the last repeats).
fn fault_answers(op: Op, fault: Fault) -> Vec<ResponseTemplate> {
    let not_found = match op {
        FindingsPage1 | FindingsPage2 => "ScanNotFoundException",
        _ => "RepositoryNotFoundException",
    };
    match fault {
        ThrottlingThatClears => vec![throttling(), throttling(), throttling(), normal(op)],
        ThrottlingThatPersists => vec![throttling()],
        Http500 => vec![aws_error(500, "ServerException", "internal error")],
        Http503 => vec![aws_error(503, "ServiceUnavailableException", "unavailable")],
        Html502 => vec![ResponseTemplate::new(502)
            .insert_header("content-type", "text/html")
            .set_body_string("<html><body><h1>502 Bad Gateway</h1></body></html>")],
        SlowPastTheTimeout => vec![normal(op).set_delay(Duration::from_secs(20))],
        MalformedJson => vec![ResponseTemplate::new(200)
            .insert_header("content-type", "application/x-amz-json-1.1")
            .set_body_string("{\"imageDetails\": [ {\"imageDig")],
        EmptyObject => vec![ok(json!({}))],
        RepeatingToken => vec![ok(page(
            "COMPLETE",
            basic_finding("CVE-2026-3", "LOW", "a"),
            Some("t1"),
        ))],
        AccessDenied => vec![aws_error(400, "AccessDeniedException", "not authorized")],
        NotFound => vec![aws_error(400, not_found, "not found")],
        UnknownStatus => vec![ok(page(
            "QUARANTINED",
            basic_finding("CVE-2026-1", "LOW", "zlib"),
            None,
        ))],
        StatusChangeMidRead => vec![ok(page(
            "ACTIVE",
            basic_finding("CVE-2026-2", "HIGH", "openssl"),
            None,
        ))],
        LimitExceeded => vec![aws_error(400, "LimitExceededException", "quota exceeded")],
        FeatureDisabled => vec![aws_error(
            400,
            "ValidationException",
            "This feature is disabled",
        )],
        ConnectionReset | TagMove | FindingsStillArriving => unreachable!("special rows"),
    }
}

/// A TCP server on loopback that accepts and drops every connection, for a bounded time.
fn resetting_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let until = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < until {
            match listener.accept() {
                Ok((stream, _)) => drop(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    format!("http://{address}")
}

async fn run_row(op: Op, fault: Fault) -> (i32, String) {
    let fake = FakeEcr::start().await;
    let mut args = vec![
        "check",
        "app/web:v1",
        "--timeout",
        "3",
        "--max-attempts",
        "2",
        "-o",
        "json",
    ];
    match fault {
        ConnectionReset => {
            let endpoint = resetting_endpoint();
            let out = crate::live::run_env(endpoint, &args, &[]).await;
            return (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into(),
            );
        }
        TagMove => {
            fake.on(
                "DescribeImages",
                Sequence::new(vec![
                    ok(image_details(DIGEST_A, IMAGE)),
                    ok(image_details(DIGEST_B, IMAGE)),
                ]),
            )
            .await;
            fake.on_body(
                "DescribeImageScanFindings",
                DIGEST_B,
                ok(scan_page(DIGEST_B, "COMPLETE", vec![], None)),
            )
            .await;
        }
        FindingsStillArriving => {
            let not_yet = not_delivered_yet();
            fake.on(
                "GetRegistryScanningConfiguration",
                registry_scanning("ENHANCED"),
            )
            .await;
            Mock::given(Is(FindingsPage1))
                .respond_with(Sequence::new(vec![
                    ok(not_yet.clone()),
                    ok(not_yet),
                    ok(page1()),
                ]))
                .with_priority(1)
                .mount(&fake.server)
                .await;
            args.extend([
                "--settle",
                "0.3",
                "--poll-interval",
                "0.05",
                "--max-poll-interval",
                "0.1",
            ]);
        }
        _ => {
            Mock::given(Is(op))
                .respond_with(Sequence::new(fault_answers(op, fault)))
                .with_priority(1)
                .mount(&fake.server)
                .await;
        }
    }
    if op == StartImageScan {
        args.push("--start-scan");
        Mock::given(Is(FindingsPage1))
            .respond_with(Sequence::new(vec![
                aws_error(400, "ScanNotFoundException", "no scan"),
                ok(page1()),
            ]))
            .with_priority(2)
            .mount(&fake.server)
            .await;
    }
    for baseline in [
        DescribeImages,
        RegistryScanning,
        BatchGetImage,
        FindingsPage1,
        FindingsPage2,
        StartImageScan,
    ] {
        Mock::given(Is(baseline))
            .respond_with(normal(baseline))
            .with_priority(5)
            .mount(&fake.server)
            .await;
    }
    let out = crate::live::run_env(fake.uri(), &args, &[]).await;
    let code = out.status.code().unwrap_or(-1);
    if fault == TagMove && code == 1 {
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            report["images"][0]["digest"], DIGEST_A,
            "the digest resolved first is judged"
        );
    }
    (code, String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_of_every_operation_ends_in_its_exit_code_never_a_false_pass() {
    let limit = Arc::new(tokio::sync::Semaphore::new(6));
    let mut rows = Vec::new();
    for &(op, fault, expected) in MATRIX {
        assert_ne!(expected, 0, "the matrix never expects a pass");
        let limit = limit.clone();
        rows.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let (code, stderr) = run_row(op, fault).await;
            (op, fault, expected, code, stderr)
        }));
    }
    let mut wrong = Vec::new();
    for row in rows {
        let (op, fault, expected, code, stderr) = row.await.unwrap();
        if code != expected {
            wrong.push(format!(
                "{op:?} × {fault:?}: exit {code}, expected {expected}\n{stderr}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows wrong:\n{}",
        wrong.len(),
        MATRIX.len(),
        wrong.join("\n")
    );
}
