//! The Kubernetes manifests of the admission webhook (`deploy/kubernetes/`): every object is
//! validated against the Kubernetes and cert-manager schemas of the npm `kubernetes-models`
//! packages and checked against the contract (tests/tools/validate-manifests.mjs), and the
//! sample policy in the ConfigMap is read by the real policy parser.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use tempfile::TempDir;

use crate::util::{fixture, root, run, snapshot_text, tool, Outcome};

/// Every object in deploy/kubernetes/, as the validator lists those that passed.
const OBJECTS: [&str; 11] = [
    "ok Namespace ecr-scan-gate",
    "ok ServiceAccount ecr-scan-gate",
    "ok ConfigMap ecr-scan-gate-policy",
    "ok Issuer ecr-scan-gate-selfsigned",
    "ok Certificate ecr-scan-gate-ca",
    "ok Issuer ecr-scan-gate-ca",
    "ok Certificate ecr-scan-gate",
    "ok Service ecr-scan-gate",
    "ok Deployment ecr-scan-gate",
    "ok PodDisruptionBudget ecr-scan-gate",
    "ok ValidatingWebhookConfiguration ecr-scan-gate",
];

/// Runs `node tests/tools/validate-manifests.mjs` (on deploy/kubernetes/ unless `args` say
/// `--dir`) with the packages scripts/install-tools.sh put in `.tools/npm/node_modules`, or
/// `None` when they are missing (outside CI).
fn validate_manifests(args: &[&OsStr]) -> Option<Outcome> {
    let package = tool("kubernetes-models")?;
    // node_modules/kubernetes-models/package.json → node_modules
    let node_modules = package
        .parent()
        .and_then(Path::parent)
        .expect("node_modules");
    let output = Command::new("node")
        .arg(root().join("tests/tools/validate-manifests.mjs"))
        .arg("--node-modules")
        .arg(node_modules)
        .args(args)
        .current_dir(root())
        .output()
        .expect("node runs");
    Some(output.into())
}

#[test]
fn manifests_validate_with_the_kubernetes_and_cert_manager_schemas_and_keep_the_contract() {
    let Some(outcome) = validate_manifests(&[]) else {
        return;
    };
    assert_eq!(
        outcome.code, 0,
        "validate-manifests.mjs failed:\n{}\n{}",
        outcome.stdout, outcome.stderr
    );
    let mut validated: Vec<&str> = outcome
        .stdout
        .lines()
        .filter(|line| line.starts_with("ok "))
        .collect();
    validated.sort_unstable();
    let mut expected = OBJECTS.to_vec();
    expected.sort_unstable();
    assert_eq!(
        validated, expected,
        "objects validated:\n{}",
        outcome.stdout
    );
    for line in [
        "checked kustomization.yaml (8 resources)",
        "checked iam-policy.json (4 actions)",
        "validated 11 objects in 8 files",
    ] {
        assert!(
            outcome.stdout.lines().any(|l| l == line),
            "no line {line:?} in:\n{}",
            outcome.stdout
        );
    }
}

/// A copy of deploy/kubernetes/ in a temporary directory, with the first `old` in `file`
/// replaced by `new`.
fn broken_copy(file: &str, old: &str, new: &str) -> TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for entry in std::fs::read_dir(root().join("deploy/kubernetes")).expect("deploy/kubernetes") {
        let path = entry.expect("directory entry").path();
        if path.is_file() {
            let copy = dir.path().join(path.file_name().expect("a file name"));
            std::fs::copy(path.as_path(), copy).expect("copy a manifest");
        }
    }
    let target = dir.path().join(file);
    let text = std::fs::read_to_string(&target).expect("read the copy");
    assert!(text.contains(old), "{file} has no {old:?}");
    std::fs::write(target, text.replacen(old, new, 1)).expect("write the copy");
    dir
}

#[test]
fn the_validator_fails_on_broken_manifests_naming_file_kind_name_and_error() {
    let cases = [
        (
            "deployment.yaml",
            "replicas: 2",
            "replicas: \"two\"",
            "deployment.yaml: Deployment ecr-scan-gate: schema: data/spec/replicas must be integer",
        ),
        (
            "pdb.yaml",
            "kind: PodDisruptionBudget",
            "kind: PodDisruptionBudgt",
            "pdb.yaml: PodDisruptionBudgt ecr-scan-gate: unknown kind PodDisruptionBudgt in policy/v1",
        ),
        (
            "webhook.yaml",
            "failurePolicy: Fail",
            "failurePolicy: Ignore",
            "webhook.yaml: ValidatingWebhookConfiguration ecr-scan-gate: webhook images.ecr-scan-gate.io: failurePolicy must be Fail",
        ),
        (
            "kustomization.yaml",
            "  - pdb.yaml\n",
            "",
            "kustomization.yaml: Kustomization kustomization.yaml: must list pdb.yaml exactly once",
        ),
    ];
    for (file, old, new, expected) in cases {
        let copy = broken_copy(file, old, new);
        let Some(outcome) = validate_manifests(&[OsStr::new("--dir"), copy.path().as_os_str()])
        else {
            return;
        };
        assert_eq!(
            outcome.code, 1,
            "{file} with {new:?}: exit {}\n{}\n{}",
            outcome.code, outcome.stdout, outcome.stderr
        );
        assert!(
            outcome
                .stderr
                .lines()
                .any(|line| line.starts_with("FAIL ") && line.contains(expected)),
            "{file} with {new:?}: no FAIL line with {expected:?}:\n{}",
            outcome.stderr
        );
    }
}

#[test]
fn the_sample_policy_in_the_configmap_is_accepted_by_the_policy_parser() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let policy = dir.path().join("policy.toml");
    let Some(outcome) = validate_manifests(&[OsStr::new("--policy-out"), policy.as_os_str()])
    else {
        return;
    };
    assert_eq!(
        outcome.code, 0,
        "validate-manifests.mjs failed:\n{}\n{}",
        outcome.stdout, outcome.stderr
    );
    let findings = fixture("enhanced-findings.json");
    let judged = run([
        OsStr::new("evaluate"),
        OsStr::new(&findings),
        OsStr::new("--policy"),
        policy.as_os_str(),
    ]);
    // 0 or 1 is a verdict; 2 would be a policy file the gate refuses.
    assert!(
        matches!(judged.code, 0 | 1),
        "the ConfigMap's policy.toml is not a valid policy:\n{}",
        snapshot_text(&judged)
    );
}
