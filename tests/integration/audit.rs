//! `audit` through the real SDK against the scripted ECR: every page of DescribeRepositories
//! (more than 100 repositories), tagged images only, the globs, newest per repository, no scan
//! started and no waiting, and the per-repository lines worst first.

use serde_json::{json, Value};

use crate::fake_ecr::*;
use crate::live::run_env;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn repositories(names: &[String], next: Option<&str>) -> Value {
    let mut page = json!({"repositories": names.iter().map(|n| json!({
        "repositoryName": n,
        "registryId": "123456789012",
        "repositoryArn": format!("arn:aws:ecr:us-east-1:123456789012:repository/{n}"),
        "repositoryUri": format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{n}")
    })).collect::<Vec<_>>()});
    if let Some(token) = next {
        page["nextToken"] = json!(token);
    }
    page
}

/// 105 repositories over two pages: `team/svc-000` … `team/svc-104`.
async fn registry() -> (FakeEcr, Vec<String>) {
    let fake = FakeEcr::start().await;
    let names: Vec<String> = (0..105).map(|i| format!("team/svc-{i:03}")).collect();
    fake.on(
        "GetRegistryScanningConfiguration",
        registry_scanning("BASIC"),
    )
    .await;
    // The second page is asked for with the first page's token.
    fake.on_body(
        "DescribeRepositories",
        "page-2",
        ok(repositories(&names[100..], None)),
    )
    .await;
    fake.on(
        "DescribeRepositories",
        ok(repositories(&names[..100], Some("page-2"))),
    )
    .await;
    // Resolving a digest answers that digest; listing answers every image.
    for digest in [DIGEST_A, DIGEST_B, DIGEST_C] {
        fake.on_body(
            "DescribeImages",
            digest,
            ok(image_details(
                digest,
                "application/vnd.oci.image.manifest.v1+json",
            )),
        )
        .await;
    }
    // Every repository: an old release, a newer one, and the newest, a nightly.
    fake.on(
        "DescribeImages",
        ok(json!({"imageDetails": [
            {"registryId": "123456789012", "repositoryName": "x", "imageDigest": DIGEST_A,
             "imageTags": ["v1.0"], "imagePushedAt": 1_700_000_000},
            {"registryId": "123456789012", "repositoryName": "x", "imageDigest": DIGEST_B,
             "imageTags": ["v1.1", "stable"], "imagePushedAt": 1_750_000_000},
            {"registryId": "123456789012", "repositoryName": "x", "imageDigest": DIGEST_C,
             "imageTags": ["nightly"], "imagePushedAt": 1_760_000_000}
        ]})),
    )
    .await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(DIGEST_A, "COMPLETE", vec![], None)),
    )
    .await;
    (fake, names)
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_reads_every_page_and_judges_the_newest_image_of_each_repository() {
    let (fake, names) = registry().await;
    let out = run_env(
        fake.uri(),
        &["audit", "-o", "json", "-o", "console=/dev/stderr"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let images = report["images"].as_array().unwrap();
    assert_eq!(
        images.len(),
        names.len(),
        "one image per repository, both pages"
    );
    assert!(
        images.iter().all(|i| i["digest"] == DIGEST_C),
        "the newest image"
    );
    assert_eq!(fake.calls("DescribeRepositories").await.len(), 2);
    // Resolving by digest names imageIds; every listing asks for tagged images only.
    let listings = fake.calls("DescribeImages").await;
    let listing: Vec<&Value> = listings
        .iter()
        .filter(|c| c.get("imageIds").is_none())
        .collect();
    assert_eq!(listing.len(), 105, "one listing per repository");
    assert!(listing.iter().all(|c| c["filter"]["tagStatus"] == "TAGGED"));
    assert!(
        fake.calls("StartImageScan").await.is_empty(),
        "audit starts no scan"
    );
    let console = text(&out.stderr);
    assert!(console.contains("Repositories (worst first):"), "{console}");
    assert_eq!(
        console.matches("  PASS  123456789012/team/svc-").count(),
        105,
        "{console}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn globs_and_latest_choose_the_images_and_an_unusable_scan_is_not_waited_for() {
    let (fake, _) = registry().await;
    let out = run_env(
        fake.uri(),
        &[
            "audit",
            "--repository",
            "team/svc-00?",
            "--tag",
            "v*",
            "--latest",
            "2",
            "-o",
            "json",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let images = report["images"].as_array().unwrap();
    assert_eq!(images.len(), 20, "10 repositories × the 2 newest v* images");
    assert_eq!(
        images[0]["digest"], DIGEST_B,
        "newest first, nightly left out"
    );
    assert_eq!(images[1]["digest"], DIGEST_A);
    assert_eq!(images[0]["tag"], "v1.1", "a tag the --tag glob keeps");

    // A scan still running is that image's error, at once: no waiting without --wait.
    let running = FakeEcr::start().await;
    running
        .on(
            "GetRegistryScanningConfiguration",
            registry_scanning("BASIC"),
        )
        .await;
    running
        .on(
            "DescribeRepositories",
            ok(repositories(&["app/web".to_string()], None)),
        )
        .await;
    running
        .on(
            "DescribeImages",
            ok(
                json!({"imageDetails": [{"registryId": "123456789012", "repositoryName": "app/web",
                "imageDigest": DIGEST_A, "imageTags": ["v1"], "imagePushedAt": 1_760_000_000}]}),
            ),
        )
        .await;
    running
        .on(
            "DescribeImageScanFindings",
            ok(scan_page(DIGEST_A, "IN_PROGRESS", vec![], None)),
        )
        .await;
    let started = std::time::Instant::now();
    let out = run_env(running.uri(), &["audit", "--timeout", "60"], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--wait"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "did not wait"
    );
    assert_eq!(running.calls("DescribeImageScanFindings").await.len(), 1);
}
