//! Regressions for rules that once lived in two places and disagreed (issue 20): a VEX product
//! in a registry that only looks like ECR allows nothing, and a hostile timestamp in any reader
//! is exit 2 naming the file, never a panic.

use std::path::Path;

use crate::util;

const DIGEST: &str = "sha256:5d8a35f3e4d2b0b2f1c8c9a3a3c4e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091";

/// A saved answer for `app/api` in account 111122223333 with one CRITICAL, completed at `completed`.
fn scan(completed: &str) -> String {
    format!(
        r#"{{"registryId": "111122223333", "repositoryName": "app/api",
  "imageId": {{"imageDigest": "{DIGEST}", "imageTag": "v1"}},
  "imageScanStatus": {{"status": "COMPLETE", "description": "The scan was completed successfully."}},
  "imageScanFindings": {{
    "imageScanCompletedAt": "{completed}",
    "findings": [{{"name": "CVE-2026-1000", "severity": "CRITICAL", "uri": "https://example.com/CVE-2026-1000",
      "attributes": [{{"key": "package_name", "value": "openssl"}}, {{"key": "package_version", "value": "3.0.1"}}]}}],
    "findingSeverityCounts": {{"CRITICAL": 1}}
  }}
}}"#
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn vex(product: &str, timestamp: &str) -> String {
    format!(
        r#"{{"@context": "https://openvex.dev/ns/v0.2.0", "timestamp": "{timestamp}",
  "statements": [{{"vulnerability": {{"name": "CVE-2026-1000"}}, "status": "not_affected",
    "justification": "vulnerable_code_not_in_execute_path", "products": [{{"@id": "{product}"}}]}}]}}"#
    )
}

#[test]
fn a_vex_product_in_a_look_alike_registry_allows_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scan = write(d, "scan.json", &scan("2026-12-01T10:00:00Z"));
    let digest = DIGEST.replace(':', "%3A");
    let real = "111122223333.dkr.ecr.us-east-1.amazonaws.com";
    // The real registry allows the CRITICAL: proof that the look-alikes below fail only for
    // their host.
    for version in [String::new(), format!("@{digest}")] {
        let product = format!("pkg:oci/api{version}?repository_url={real}/app/api");
        let file = write(
            d,
            "real.openvex.json",
            &vex(&product, "2026-12-01T00:00:00Z"),
        );
        let out = util::run(["evaluate", &scan, "--vex", &file]);
        assert_eq!(out.code, 0, "{product}: {}", out.stderr);
    }
    for host in [
        "111122223333.dkr.ecr.us-east-1.evil.example",
        "111122223333.dkr.ecr.us-east-1.amazonaws.com.evil.example",
        "public.ecr.aws",
    ] {
        for version in [String::new(), format!("@{digest}")] {
            let product = format!("pkg:oci/api{version}?repository_url={host}/app/api");
            let file = write(
                d,
                "evil.openvex.json",
                &vex(&product, "2026-12-01T00:00:00Z"),
            );
            let out = util::run(["evaluate", &scan, "--vex", &file, "-o", "json"]);
            assert_eq!(out.code, 1, "{product} must allow nothing: {}", out.stderr);
            let report = out.json();
            assert_eq!(report["images"][0]["findings"][0]["state"], "violation");
        }
    }
}

#[test]
fn a_hostile_timestamp_in_any_reader_is_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good_scan = write(d, "scan.json", &scan("2026-12-01T10:00:00Z"));
    for hostile in ["xé1234", "2026-12-01T10:00:00+1é00", "🦀🦀🦀🦀🦀", "é"] {
        let bad_scan = write(d, "bad-scan.json", &scan(hostile));
        let kev = write(
            d,
            "kev.json",
            &format!(
                r#"{{"catalogVersion": "1", "dateReleased": "2026-12-01T00:00:00Z", "vulnerabilities": [
                  {{"cveID": "CVE-2026-1000", "dateAdded": "{hostile}"}}]}}"#
            ),
        );
        let vex_file = write(d, "v.openvex.json", &vex("pkg:oci/app/api", hostile));
        let epss = write(
            d,
            "epss.csv",
            &format!("#model_version:v1,score_date:{hostile}\ncve,epss,percentile\nCVE-2026-1000,0.5,0.9\n"),
        );
        let policy = write(
            d,
            "p.toml",
            &format!(
                "[[allow]]\nid = \"CVE-2026-1000\"\nreason = \"r\"\nexpires = \"{hostile}\"\n"
            ),
        );
        let cases: [(Vec<&str>, &str); 5] = [
            (vec!["evaluate", &bad_scan], &bad_scan),
            (vec!["evaluate", &good_scan, "--kev", &kev], &kev),
            (vec!["evaluate", &good_scan, "--vex", &vex_file], &vex_file),
            (vec!["evaluate", &good_scan, "--epss", &epss], &epss),
            (vec!["evaluate", &good_scan, "--policy", &policy], &policy),
        ];
        for (args, file) in cases {
            let out = util::run(args.iter().copied());
            assert_eq!(out.code, 2, "{hostile} in {file}: {}", out.stderr);
            assert!(
                out.stderr.contains(file),
                "{hostile}: the message names {file}:\n{}",
                out.stderr
            );
            assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        }
    }
}
