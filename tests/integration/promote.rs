//! `check --promote-tag` through the real SDK: the scripted fake for what must never happen (a
//! moved tag promoted, a put after a failing gate, bytes other than the judged ones) and for
//! ECR's refusals; moto for PutImage and DescribeImages end to end.

use std::process::Output;

use ecr_scan_gate::ecr::promote::sha256;
use serde_json::{json, Value};

use crate::fake_ecr::*;
use crate::live::run_env;
use crate::moto::Moto;
use crate::util::{self, fixture};

const OCI_IMAGE: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// A single-image manifest whose sha256 is its digest, distinct per `seed`.
fn image_manifest(seed: &str) -> (String, String) {
    let body = json!({
        "schemaVersion": 2, "mediaType": OCI_IMAGE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                   "digest": format!("sha256:{}", "0".repeat(64))},
        "layers": [], "annotations": {"seed": seed}
    })
    .to_string();
    let digest = sha256(&body);
    (body, digest)
}

/// Runs `check` against the fake with a JSON report in a temporary file (checked against the
/// report schema) and the console report on stdout.
async fn check(fake: &FakeEcr, args: &[&str], env: &[(&str, &str)]) -> (Output, Value) {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("report.json");
    let json_arg = format!("json={}", json_path.display());
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    all.extend(["-o", "console", "-o", &json_arg]);
    let out = run_env(fake.uri(), &all, env).await;
    let report = if json_path.is_file() {
        util::validate_json_report(&json_path);
        util::read_json(&json_path)
    } else {
        Value::Null
    };
    (out, report)
}

/// A clean scan for every digest.
async fn clean_scans(fake: &FakeEcr, digest: &str) {
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(digest, "COMPLETE", vec![], None)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_judged_digest_is_promoted_even_when_the_tag_moved_after_resolving() {
    let fake = FakeEcr::start().await;
    let (judged_body, judged) = image_manifest("judged");
    let (moved_body, moved) = image_manifest("pushed later");
    // The first DescribeImages resolves v1; any later one would see it moved.
    fake.on(
        "DescribeImages",
        Sequence::new(vec![
            ok(image_details(&judged, OCI_IMAGE)),
            ok(image_details(&moved, OCI_IMAGE)),
        ]),
    )
    .await;
    fake.on_body(
        "BatchGetImage",
        &moved,
        stored_manifest(&moved, &moved_body, OCI_IMAGE),
    )
    .await;
    fake.on_body(
        "BatchGetImage",
        &judged,
        stored_manifest(&judged, &judged_body, OCI_IMAGE),
    )
    .await;
    fake.on("PutImage", put_accepted()).await;
    clean_scans(&fake, &judged).await;

    let (out, report) = check(&fake, &["app/web:v1", "--promote-tag", "staging"], &[]).await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(
        fake.calls("DescribeImages").await.len(),
        1,
        "the tag is resolved once"
    );
    let puts = fake.calls("PutImage").await;
    assert_eq!(puts.len(), 1, "{puts:?}");
    let put = &puts[0];
    assert_eq!(put["imageTag"], "staging");
    assert_eq!(put["repositoryName"], "app/web");
    assert_eq!(put["imageDigest"], judged.as_str());
    assert_eq!(
        put["imageManifest"],
        judged_body.as_str(),
        "the stored bytes, unchanged"
    );
    assert_eq!(sha256(put["imageManifest"].as_str().unwrap()), judged);
    assert_eq!(put["imageManifestMediaType"], OCI_IMAGE);
    for read in fake.calls("BatchGetImage").await {
        let accepted = read["acceptedMediaTypes"].as_array().unwrap();
        for media_type in [
            OCI_IMAGE,
            OCI_INDEX,
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
        ] {
            assert!(
                accepted.iter().any(|m| m == media_type),
                "{media_type}: {read}"
            );
        }
        assert_eq!(read["imageIds"], json!([{"imageDigest": judged}]));
    }
    assert_eq!(report["promotion"]["status"], "promoted");
    assert_eq!(report["promotion"]["tags"], json!(["staging"]));
    assert_eq!(
        report["images"][0]["promoted"],
        json!([{"tag": "staging", "digest": judged}])
    );
    let console = text(&out.stdout);
    assert!(
        console.contains(&format!("promoted app/web:staging → {judged}")),
        "{console}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_gate_puts_nothing_and_says_so() {
    let fake = FakeEcr::start().await;
    let (body, digest) = image_manifest("x");
    fake.image(&digest).await;
    fake.on("BatchGetImage", stored_manifest(&digest, &body, OCI_IMAGE))
        .await;
    fake.on("PutImage", put_accepted()).await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(
            &digest,
            "COMPLETE",
            vec![basic_finding("CVE-2026-1", "HIGH", "openssl")],
            None,
        )),
    )
    .await;
    let (out, report) = check(&fake, &["app/web:v1", "--promote-tag", "staging"], &[]).await;
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(
        fake.calls("PutImage").await.is_empty(),
        "no PutImage at all"
    );
    assert!(fake.calls("BatchGetImage").await.is_empty());
    assert!(
        text(&out.stdout).contains("not promoted: the gate did not pass (exit 1)"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(report["promotion"]["status"], "not-promoted");
    assert_eq!(report["images"][0]["promoted"], json!([]));

    // An unusable scan (exit 3) promotes nothing either.
    let fake = FakeEcr::start().await;
    fake.image(&digest).await;
    fake.on("PutImage", put_accepted()).await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(&digest, "FAILED", vec![], None)),
    )
    .await;
    let (out, _) = check(&fake, &["app/web:v1", "--promote-tag", "staging"], &[]).await;
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    assert!(fake.calls("PutImage").await.is_empty());
    assert!(text(&out.stdout).contains("not promoted: the gate did not pass (exit 3)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_arch_index_gets_the_tag_on_its_own_digest_with_its_bytes_unchanged() {
    let fake = FakeEcr::start().await;
    let index = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_IMAGE, "digest": DIGEST_B, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": OCI_IMAGE, "digest": DIGEST_C, "size": 1, "platform": {"os": "linux", "architecture": "arm64"}}
        ]
    });
    // Spacing ECR keeps and a re-serialiser would drop: the bytes must come back as stored.
    let body = serde_json::to_string_pretty(&index).unwrap();
    let index_digest = sha256(&body);
    fake.on(
        "DescribeImages",
        ok(image_details(&index_digest, OCI_INDEX)),
    )
    .await;
    fake.on(
        "BatchGetImage",
        stored_manifest(&index_digest, &body, OCI_INDEX),
    )
    .await;
    fake.on("PutImage", put_accepted()).await;
    fake.on_body(
        "DescribeImageScanFindings",
        DIGEST_B,
        ok(scan_page(DIGEST_B, "COMPLETE", vec![], None)),
    )
    .await;
    fake.on_body(
        "DescribeImageScanFindings",
        DIGEST_C,
        ok(scan_page(DIGEST_C, "COMPLETE", vec![], None)),
    )
    .await;

    let (out, report) = check(&fake, &["app/web:v1", "--promote-tag", "staging,qa"], &[]).await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let puts = fake.calls("PutImage").await;
    let tags: Vec<&str> = puts
        .iter()
        .map(|p| p["imageTag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["staging", "qa"], "once per index, not per platform");
    for put in &puts {
        assert_eq!(put["imageDigest"], index_digest.as_str());
        assert_eq!(put["imageManifest"], body.as_str());
        assert_eq!(sha256(put["imageManifest"].as_str().unwrap()), index_digest);
        assert_eq!(put["imageManifestMediaType"], OCI_INDEX);
    }
    let images = report["images"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    for image in images {
        assert_eq!(
            image["promoted"],
            json!([{"tag": "staging", "digest": index_digest}, {"tag": "qa", "digest": index_digest}]),
            "{image}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_immutable_tag_on_another_image_is_exit_4_with_the_hint() {
    let fake = FakeEcr::start().await;
    let (body, digest) = image_manifest("x");
    let (_, elsewhere) = image_manifest("the image staging names");
    // Where staging is now (asked only after the refusal), then v1 for resolving.
    fake.on_body(
        "DescribeImages",
        "staging",
        ok(image_details(&elsewhere, OCI_IMAGE)),
    )
    .await;
    fake.image(&digest).await;
    fake.on("BatchGetImage", stored_manifest(&digest, &body, OCI_IMAGE))
        .await;
    fake.on(
        "PutImage",
        aws_error(
            400,
            "ImageTagAlreadyExistsException",
            "The image tag 'staging' already exists in the 'app/web' repository and cannot be overwritten because the repository is immutable.",
        ),
    )
    .await;
    clean_scans(&fake, &digest).await;
    let (out, report) = check(&fake, &["app/web:v1", "--promote-tag", "staging"], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 4, "{stderr}");
    assert!(
        stderr.contains("immutable") && stderr.contains(&elsewhere),
        "{stderr}"
    );
    assert!(
        text(&out.stdout).contains("promotion failed:"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(report["verdict"], "error");
    assert_eq!(report["exit_code"], 4);
    assert_eq!(
        report["images"][0]["verdict"], "pass",
        "the image itself passed"
    );
    assert_eq!(report["promotion"]["status"], "failed");
    assert_eq!(report["promotion"]["error"]["kind"], "aws");
    assert_eq!(report["images"][0]["promoted"], json!([]));

    // SARIF says why a run whose images all passed is not successful.
    let out = run_env(
        fake.uri(),
        &[
            "check",
            "app/web:v1",
            "--promote-tag",
            "staging",
            "-o",
            "sarif",
        ],
        &[],
    )
    .await;
    assert_eq!(code(&out), 4);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert!(
        invocation["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with("promotion failed:")),
        "{invocation}"
    );

    // So does JUnit: a failing `promote` testcase, and valid for junitparser.
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("gate.xml");
    let out = run_env(
        fake.uri(),
        &[
            "check",
            "app/web:v1",
            "--promote-tag",
            "staging",
            "-o",
            &format!("junit={}", junit.display()),
        ],
        &[],
    )
    .await;
    assert_eq!(code(&out), 4);
    if let Some(suites) = crate::util::validate_junit(&junit) {
        let promote = suites
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "promotion")
            .expect("a promotion testsuite");
        assert_eq!(promote["cases"][0]["results"], json!(["failure"]));
    }
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("immutable"));
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_exit_4_with_the_reason_and_the_hint() {
    for (error, hint) in [
        ("AccessDeniedException", "must allow ecr:PutImage"),
        ("ImageDigestDoesNotMatchException", "another digest"),
        ("InvalidParameterException", "InvalidParameterException"),
    ] {
        let fake = FakeEcr::start().await;
        let (body, digest) = image_manifest("x");
        fake.image(&digest).await;
        fake.on("BatchGetImage", stored_manifest(&digest, &body, OCI_IMAGE))
            .await;
        fake.on("PutImage", aws_error(400, error, "refused by the fake"))
            .await;
        clean_scans(&fake, &digest).await;
        let (out, report) = check(&fake, &["app/web:v1", "--promote-tag", "staging"], &[]).await;
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 4, "{error}: {stderr}");
        assert!(
            stderr.contains("ecr:PutImage failed")
                && stderr.contains(error)
                && stderr.contains(hint),
            "{error}: {stderr}"
        );
        assert!(!stderr.contains("test-secret-key"), "{stderr}");
        assert_eq!(report["promotion"]["status"], "failed");
        assert_eq!(
            fake.calls("PutImage").await.len(),
            1,
            "{error} is not asked again"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_promotion_is_the_console_verdict_not_images_that_could_not_be_judged() {
    let fake = FakeEcr::start().await;
    let (body, digest) = image_manifest("x");
    fake.image(&digest).await;
    fake.on("BatchGetImage", stored_manifest(&digest, &body, OCI_IMAGE))
        .await;
    fake.on(
        "PutImage",
        aws_error(
            400,
            "AccessDeniedException",
            "not authorized to perform ecr:PutImage",
        ),
    )
    .await;
    clean_scans(&fake, &digest).await;
    let (out, report) = check(&fake, &["app/web:v1", "--promote-tag", "staging"], &[]).await;
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
    let console = text(&out.stdout);
    let verdict = console
        .lines()
        .find(|l| l.starts_with("Verdict:"))
        .unwrap_or_else(|| panic!("a verdict line: {console}"));
    assert_eq!(
        verdict,
        "Verdict: ERROR — the promotion failed; 1 image(s) pass the policy (fail-on high) (exit code 4)"
    );
    assert!(!console.contains("could not be judged"), "{console}");
    assert!(console.contains("promotion failed: "), "{console}");
    assert_eq!(report["promotion"]["status"], "failed");
    assert_eq!(report["promotion"]["error"]["kind"], "aws");
    assert!(
        report["promotion"]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("ecr:PutImage failed")),
        "{}",
        report["promotion"]
    );
    assert_eq!(report["images"][0]["verdict"], "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_already_on_the_judged_digest_is_a_no_op() {
    let fake = FakeEcr::start().await;
    let (body, digest) = image_manifest("x");
    fake.image(&digest).await;
    fake.on("BatchGetImage", stored_manifest(&digest, &body, OCI_IMAGE))
        .await;
    fake.on(
        "PutImage",
        aws_error(
            400,
            "ImageAlreadyExistsException",
            "Image with digest and tag 'staging' already exists",
        ),
    )
    .await;
    clean_scans(&fake, &digest).await;
    let (out, report) = check(&fake, &["app/web:v1", "--promote-tag", "staging"], &[]).await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(report["promotion"]["status"], "promoted");
    assert_eq!(
        report["images"][0]["promoted"],
        json!([{"tag": "staging", "digest": digest}])
    );
    assert!(
        text(&out.stdout).contains("(already there)"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn promote_tag_outside_check_or_not_an_ecr_tag_is_exit_2_before_any_call() {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["wait", "app/web:v1", "--promote-tag", "staging"],
            vec![],
            "only with `check`",
        ),
        (
            vec!["wait", "app/web:v1"],
            vec![("ECR_SCAN_GATE_PROMOTE_TAG", "staging")],
            "only with `check`",
        ),
        (
            vec!["check", "app/web:v1", "--promote-tag", "bad/tag"],
            vec![],
            "not a valid ECR tag",
        ),
        (
            vec!["check", "app/web:v1"],
            vec![("ECR_SCAN_GATE_PROMOTE_TAG", "ok,-bad")],
            "not a valid ECR tag",
        ),
        (
            vec![
                "check",
                "app/web:v1",
                "app/web:v2",
                "--promote-tag",
                "staging",
            ],
            vec![],
            "one image per repository",
        ),
        (
            vec![
                "check",
                "app/web:v1",
                "--promote-tag",
                "staging",
                "-o",
                "json=/nonexistent-dir/report.json",
            ],
            vec![],
            "cannot write json report to /nonexistent-dir/report.json",
        ),
    ];
    for (args, env, message) in cases {
        let out = run_env(fake.uri(), &args, &env).await;
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        fake.server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "no AWS call"
    );
    let out = util::bin()
        .args([
            "evaluate",
            &fixture("basic-findings.json"),
            "--promote-tag",
            "staging",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let mut gate = util::bin();
    gate.args(["evaluate", &fixture("basic-findings.json")])
        .env("ECR_SCAN_GATE_PROMOTE_TAG", "staging");
    assert_eq!(gate.run().code, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_put_image_then_describe_images_shows_the_tag_on_the_judged_digest() {
    let Some(moto) = Moto::start() else { return };
    // moto digests a manifest by its layers unless told the digest: tell it the real one.
    let setup = r#"
import hashlib
def push(repo, tag, seed):
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                   "digest": "sha256:" + hashlib.sha256(seed.encode()).hexdigest()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1,
                    "digest": "sha256:" + hashlib.sha256((seed + "-layer").encode()).hexdigest()}]})
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    ecr.put_image(repositoryName=repo, imageTag=tag, imageManifest=manifest, imageDigest=digest)
    ecr.start_image_scan(repositoryName=repo, imageId={'imageDigest': digest})
    requests.post(MOTO + '/moto-api/static/ecr/scan-finding-results', json={'region': 'us-east-1', 'results': [{
        'registryId': '123456789012', 'repositoryName': repo, 'imageId': {'imageDigest': digest},
        'imageScanStatus': {'status': 'COMPLETE', 'description': 'ok'},
        'imageScanFindings': {'imageScanCompletedAt': 1763630071, 'findingSeverityCounts': {'LOW': 1},
            'findings': [{'name': 'CVE-2026-0001', 'severity': 'LOW', 'attributes': [{'key': 'package_name', 'value': 'zlib'}]}]}
    }]}).raise_for_status()
    return digest
ecr.create_repository(repositoryName='app/web')
ecr.create_repository(repositoryName='app/locked', imageTagMutability='IMMUTABLE')
print(json.dumps({"web": push('app/web', 'v1', 'web'), "locked": push('app/locked', 'v1', 'locked'),
                  "elsewhere": push('app/locked', 'staging', 'other')}))
"#;
    let digests: Value = serde_json::from_str(&moto.python(setup)).unwrap();
    let web = digests["web"].as_str().unwrap().to_string();

    let out = run_env(
        moto.url.clone(),
        &[
            "check",
            "app/web:v1",
            "--promote-tag",
            "staging",
            "-o",
            "json",
        ],
        &[],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["images"][0]["digest"], web.as_str());
    assert_eq!(
        report["images"][0]["promoted"],
        json!([{"tag": "staging", "digest": web}])
    );
    let tagged: Value = serde_json::from_str(&moto.python(
        r#"
d = ecr.describe_images(repositoryName='app/web', imageIds=[{'imageTag': 'staging'}])['imageDetails'][0]
print(json.dumps({"digest": d['imageDigest'], "tags": sorted(d['imageTags'])}))
"#,
    ))
    .unwrap();
    assert_eq!(
        tagged["digest"],
        web.as_str(),
        "staging names the judged digest"
    );
    assert_eq!(tagged["tags"], json!(["staging", "v1"]));

    // Again: the tag is already there, a no-op.
    let out = run_env(
        moto.url.clone(),
        &["check", "app/web:v1", "--promote-tag", "staging"],
        &[],
    )
    .await;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(already there)"),
        "{}",
        text(&out.stdout)
    );

    // An immutable repository whose staging names another image refuses to move it.
    let out = run_env(
        moto.url.clone(),
        &["check", "app/locked:v1", "--promote-tag", "staging"],
        &[],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 4, "{stderr}");
    assert!(stderr.contains("immutable"), "{stderr}");
    let still: String = moto.python(
        "print(ecr.describe_images(repositoryName='app/locked', imageIds=[{'imageTag': 'staging'}])['imageDetails'][0]['imageDigest'])",
    );
    assert_eq!(still, digests["elsewhere"].as_str().unwrap());
}
