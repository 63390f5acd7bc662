//! `check --images-from` through the real SDK against the scripted ECR: every input kind, the
//! JSON `sources`, non-ECR images, `--require-digest`, the pinned output byte for byte, and bad
//! input refused before any AWS call.

use serde_json::Value;

use crate::fake_ecr::*;
use crate::live::run_env;
use crate::util::fixture;

const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// Every tag is DIGEST_A, scanned clean, in a registry with basic scanning.
async fn clean_registry() -> FakeEcr {
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
    fake
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The input with each named ECR image pinned, computed independently of the gate.
fn pinned_by_hand(input: &str, images: &[&str], keep_tag: bool) -> String {
    let mut out = input.to_string();
    for image in images {
        let (name, _tag) = image.rsplit_once(':').unwrap();
        let pin = if keep_tag {
            format!("{ECR}/{image}@{DIGEST_A}")
        } else {
            format!("{ECR}/{name}@{DIGEST_A}")
        };
        out = out.replace(&format!("{ECR}/{image}"), &pin);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_input_kind_is_judged_and_pinned_byte_for_byte() {
    let cases: [(&str, &[&str], bool); 4] = [
        (
            "deploy/helm-template.yaml",
            &[
                "app/migrate:1.4.2",
                "app/web:1.4.2",
                "app/worker:2.0.1",
                "app/cache:7.2.4",
            ],
            true,
        ),
        (
            "deploy/kubectl-pods.json",
            &[
                "app/migrate:1.4.2",
                "app/web:1.4.2",
                "app/worker:2.0.1",
                "app/debug:1.0.0",
                "payments/api:3.2.0",
            ],
            true,
        ),
        (
            "deploy/ecs-task-definition.json",
            &["app/web:1.4.2", "app/migrate:1.4.2"],
            false,
        ),
        (
            "deploy/compose.yaml",
            &["app/web:1.4.2", "app/worker:2.0.1"],
            true,
        ),
    ];
    for (file, images, keep_tag) in cases {
        let fake = clean_registry().await;
        let dir = tempfile::tempdir().unwrap();
        let pinned = dir.path().join("pinned");
        let input = fixture(file);
        let out = run_env(
            fake.uri(),
            &[
                "check",
                "--images-from",
                &input,
                "--write-pinned",
                pinned.to_str().unwrap(),
                "-o",
                "json",
            ],
            &[],
        )
        .await;
        assert_eq!(out.status.code(), Some(0), "{file}: {}", text(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let saved = dir.path().join("report.json");
        std::fs::write(&saved, &out.stdout).unwrap();
        crate::util::validate_json_report(&saved);
        let judged = report["images"].as_array().unwrap();
        assert_eq!(judged.len(), images.len(), "{file}: each image judged once");
        // Each distinct reference is resolved once, however many places name it.
        assert_eq!(
            fake.calls("DescribeImages").await.len(),
            images.len(),
            "{file}"
        );
        let sources: usize = judged
            .iter()
            .map(|i| i["sources"].as_array().unwrap().len())
            .sum();
        assert!(sources >= images.len(), "{file}: every place listed");
        assert!(
            judged
                .iter()
                .all(|i| i["sources"][0]["file"] == input.as_str()),
            "{file}"
        );
        let original = std::fs::read_to_string(&input).unwrap();
        let written = std::fs::read_to_string(&pinned).unwrap();
        if file.ends_with("kubectl-pods.json") {
            // The inventory's status repeats image names, which are not pinned: the output is
            // the input byte for byte once the pins are taken out, and every spec image has one.
            assert_eq!(written.replace(&format!("@{DIGEST_A}"), ""), original);
            let pods: Value = serde_json::from_str(&written).unwrap();
            for pod in pods["items"].as_array().unwrap() {
                for list in ["containers", "initContainers", "ephemeralContainers"] {
                    for c in pod["spec"][list].as_array().into_iter().flatten() {
                        let image = c["image"].as_str().unwrap();
                        assert_eq!(image.starts_with(ECR), image.ends_with(DIGEST_A), "{image}");
                    }
                }
                let statuses = pod["status"]["containerStatuses"].as_array();
                for c in statuses.into_iter().flatten() {
                    assert!(
                        !c["image"].as_str().unwrap().contains('@'),
                        "status is not pinned"
                    );
                }
            }
        } else {
            assert_eq!(
                written,
                pinned_by_hand(&original, images, keep_tag),
                "{file}"
            );
        }
        // The other registries' images are named as not judged.
        assert!(
            text(&out.stderr).contains("not in a private ECR registry"),
            "{file}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pinned_to_stdout_sends_reports_to_stderr_and_a_failure_writes_nothing() {
    let fake = clean_registry().await;
    let input = fixture("deploy/compose.yaml");
    let out = run_env(
        fake.uri(),
        &["check", "--images-from", &input, "--write-pinned", "-"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let original = std::fs::read_to_string(&input).unwrap();
    assert_eq!(
        text(&out.stdout),
        pinned_by_hand(&original, &["app/web:1.4.2", "app/worker:2.0.1"], true)
    );
    assert!(
        text(&out.stderr).contains(DIGEST_A),
        "the console report is on stderr"
    );

    // A violating image: exit 1, and the pinned file is left as it was.
    let failing = FakeEcr::start().await;
    failing
        .on(
            "GetRegistryScanningConfiguration",
            registry_scanning("BASIC"),
        )
        .await;
    failing.image(DIGEST_A).await;
    failing
        .on(
            "DescribeImageScanFindings",
            ok(scan_page(
                DIGEST_A,
                "COMPLETE",
                vec![basic_finding("CVE-2026-1", "CRITICAL", "openssl")],
                None,
            )),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let pinned = dir.path().join("pinned.yaml");
    std::fs::write(&pinned, "before\n").unwrap();
    let out = run_env(
        failing.uri(),
        &[
            "check",
            "--images-from",
            &input,
            "--write-pinned",
            pinned.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&pinned).unwrap(), "before\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn helm_output_piped_through_the_gate_comes_out_pinned() {
    // helm template . | ecr-scan-gate check --images-from - --write-pinned - | kubectl apply -f -
    let fake = clean_registry().await;
    let input = std::fs::read_to_string(fixture("deploy/helm-template.yaml")).unwrap();
    let stdin = input.clone();
    let uri = fake.uri();
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let args = ["check", "--images-from", "-", "--write-pinned", "-"];
        let mut child = crate::live::command(uri, args.map(String::from).to_vec(), vec![])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let images = [
        "app/migrate:1.4.2",
        "app/web:1.4.2",
        "app/worker:2.0.1",
        "app/cache:7.2.4",
    ];
    assert_eq!(text(&out.stdout), pinned_by_hand(&input, &images, true));
    assert!(
        text(&out.stderr).contains("Verdict: PASS"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("<stdin>"),
        "sources name stdin: {}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn non_ecr_fail_and_require_digest_change_the_verdict() {
    let fake = clean_registry().await;
    let input = fixture("deploy/compose.yaml");
    let out = run_env(
        fake.uri(),
        &["check", "--images-from", &input, "--non-ecr", "fail"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("redis:7.2-alpine"),
        "{}",
        text(&out.stderr)
    );

    let out = run_env(
        fake.uri(),
        &[
            "check",
            "--images-from",
            &input,
            "--non-ecr",
            "ignore",
            "--require-digest",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not pinned by digest"),
        "{}",
        text(&out.stderr)
    );

    let pinned = format!("{ECR}/app/web:1.4.2@{DIGEST_A}");
    let out = run_env(fake.uri(), &["check", &pinned, "--require-digest"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_deployment_files_are_exit_2_before_any_aws_call() {
    let cases = [
        ("deploy/bad/parse-error.yaml", "parse-error.yaml:13:"),
        (
            "deploy/bad/invalid-ref.yaml",
            "document 2 (Deployment shop-web): spec.template.spec.initContainers[0].image",
        ),
        ("deploy/bad/no-images.yaml", "no image found in"),
    ];
    for (file, expected) in cases {
        let fake = FakeEcr::start().await;
        let out = run_env(fake.uri(), &["check", "--images-from", &fixture(file)], &[]).await;
        assert_eq!(out.status.code(), Some(2), "{file}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(expected),
            "{file}: expected `{expected}` in {}",
            text(&out.stderr)
        );
        assert!(
            fake.server
                .received_requests()
                .await
                .unwrap_or_default()
                .is_empty(),
            "{file}: no AWS call"
        );
    }
}

// Issue 19 (found while fuzzing the deploy-file reader): a file whose images are all in other
// registries stopped at "no image reference given" (exit 2, naming no file), even with
// `--non-ecr fail`, which makes each one an error of its image (exit 3).
#[tokio::test(flavor = "multi_thread")]
async fn a_file_with_no_ecr_image_is_exit_3_with_non_ecr_fail_and_exit_2_naming_it_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("elsewhere.yaml");
    std::fs::write(
        &input,
        "services:\n  cache:\n    image: redis:7.2-alpine\n  web:\n    image: ghcr.io/o/web:1\n",
    )
    .unwrap();
    let input = input.to_str().unwrap();
    for (mode, code) in [("fail", 3), ("warn", 2), ("ignore", 2)] {
        let fake = FakeEcr::start().await;
        let out = run_env(
            fake.uri(),
            &["check", "--images-from", input, "--non-ecr", mode],
            &[],
        )
        .await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{mode}: {stderr}");
        assert!(stderr.contains("redis:7.2-alpine"), "{mode}: {stderr}");
        if code == 2 {
            assert!(
                stderr.contains(&format!("error: {input}: ")),
                "{mode}: {stderr}"
            );
        }
        assert!(
            fake.server
                .received_requests()
                .await
                .unwrap_or_default()
                .is_empty(),
            "{mode}: no AWS call"
        );
    }
}
