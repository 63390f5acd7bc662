//! JUnit XML for GitLab and Jenkins test views, built with `quick-junit` (which also strips
//! control characters XML cannot hold): one testsuite per image, one testcase for the scan
//! itself and one per finding.
//!
//! quick-junit serialises a whole [`Report`] at once, and a report holding a testcase per
//! finding is the largest thing a run keeps (100,000 cases are about 30 MB). So the document
//! is written in pieces: first a skeleton report (every suite with its counts, properties,
//! scan case and system-err, and a placeholder where the findings go), then, at each
//! placeholder, the findings' testcases serialised a chunk at a time through quick-junit
//! itself. The bytes are the same as serialising the whole report.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::escape;
use crate::evaluation::{Evaluation, ImageEvaluation, JudgedFinding, State};
use crate::findings::ImageError;

/// Where an image's finding testcases go in the skeleton. `<` is always escaped inside
/// attribute values and text, so this only matches a testcase tag, and no real testcase of the
/// skeleton (`scan`, `promote`) has this name.
const PLACEHOLDER: &[u8] = b"\n        <testcase name=\"ecr-scan-gate:findings\"/>";

/// Finding testcases serialised per piece: enough to amortise a piece's envelope, small enough
/// that a piece's cases and XML stay well under a megabyte.
const CHUNK: usize = 1024;

/// The JUnit XML report: a testsuite per image, testcases for the scan and each finding.
pub fn write(eval: &Evaluation, out: &mut dyn Write) -> io::Result<()> {
    let mut report = Report::new("ecr-scan-gate");
    for image in &eval.images {
        let mut suite = suite(image);
        // Policy warnings (expired or unused allow entries) belong to the whole run.
        let warnings: Vec<&String> = eval.warnings.iter().chain(&image.warnings).collect();
        if !warnings.is_empty() {
            suite.set_system_err(
                warnings
                    .iter()
                    .map(|w| w.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        report.add_test_suite(suite);
    }
    // A refused promotion fails the run (exit 4) although every image passed: a test view must
    // show it too.
    if let Some(error) = eval.promotion.as_ref().and_then(|p| p.error()) {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(error.message().to_string());
        status.set_type("promotion-refused");
        let mut case = TestCase::new("promote", status);
        case.set_classname("ecr-scan-gate");
        let mut suite = TestSuite::new("promotion");
        suite.add_test_case(case);
        report.add_test_suite(suite);
    }
    // XML keeps the line breaks of finding text (descriptions, warnings): each line goes out
    // inert and as XML 1.0 allows, whichever element or attribute holds it (issue 19).
    let mut out = SafeLines {
        out,
        line: Vec::new(),
    };
    let mut skeleton = Vec::new();
    report.serialize(&mut skeleton).map_err(io::Error::other)?;
    let mut rest = skeleton.as_slice();
    for image in &eval.images {
        let at = find(rest, PLACEHOLDER)
            .ok_or_else(|| io::Error::other("JUnit skeleton without a findings placeholder"))?;
        out.write_all(&rest[..at])?;
        write_finding_cases(image, &mut out)?;
        rest = &rest[at + PLACEHOLDER.len()..];
    }
    out.write_all(rest)?;
    out.write_all(b"\n")?;
    out.finish()
}

/// The characters XML 1.0 forbids that quick-junit does not strip.
const NOT_IN_XML: [char; 2] = ['\u{fffe}', '\u{ffff}'];

/// Writes one line at a time through [`escape::inert_line`], so a report written to stdout in a
/// CI job has no line a runner would read as a command (lines end at `\n` or `\r`, as runners
/// split them), and with U+FFFE and U+FFFF, which XML 1.0 forbids and quick-junit keeps, as
/// U+FFFD.
struct SafeLines<'a> {
    out: &'a mut dyn Write,
    /// The line written so far; it goes out once its end (or [`SafeLines::finish`]) is seen.
    line: Vec<u8>,
}

impl SafeLines<'_> {
    fn emit(&mut self) -> io::Result<()> {
        match std::str::from_utf8(&self.line) {
            Ok(text) => {
                let text = escape::inert_line(text);
                if text.contains(NOT_IN_XML) {
                    self.out
                        .write_all(text.replace(NOT_IN_XML, "\u{fffd}").as_bytes())?;
                } else {
                    self.out.write_all(text.as_bytes())?;
                }
            }
            Err(_) => self.out.write_all(&self.line)?,
        }
        self.line.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.emit()?;
        self.out.flush()
    }
}

impl Write for SafeLines<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = rest.iter().position(|b| matches!(b, b'\n' | b'\r')) {
            self.line.extend_from_slice(&rest[..end]);
            self.emit()?;
            self.out.write_all(&rest[end..=end])?;
            rest = &rest[end + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    /// A line not ended yet stays held: written early, its start could not be checked.
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An image's testsuite without its finding testcases: its counts already include them, and a
/// placeholder stands where [`write_finding_cases`] writes them.
fn suite(image: &ImageEvaluation) -> TestSuite {
    let mut suite = TestSuite::new(image.image.to_string());
    suite.add_property(("repository", image.image.repository.as_str()));
    if let Some(digest) = &image.image.digest {
        suite.add_property(("digest", digest.as_str()));
    }
    if let Some(platform) = &image.image.platform {
        suite.add_property(("platform", platform.as_str()));
    }
    suite.add_test_case(scan_case(image));
    for j in &image.findings {
        suite.tests += 1;
        match case_kind(j.state) {
            CaseKind::Failure => suite.failures += 1,
            CaseKind::Skipped => suite.skipped += 1,
            CaseKind::Success => {}
        }
    }
    // Pushed, not added: the placeholder is no testcase and is not counted.
    suite.test_cases.push(TestCase::new(
        "ecr-scan-gate:findings",
        TestCaseStatus::success(),
    ));
    suite
}

/// One testcase per finding, written a chunk at a time: each chunk is serialised as a report
/// of one suite, and only its testcases (at the same depth as in the whole report) are kept.
fn write_finding_cases(image: &ImageEvaluation, out: &mut dyn Write) -> io::Result<()> {
    let id = |i: usize| image.findings[i].finding.id();
    let mut repeated = vec![false; image.findings.len()];
    super::group_by_id(image.findings.len(), id, |group| {
        if group.len() > 1 {
            for &k in group {
                repeated[k as usize] = true;
            }
        }
    })?;
    // Names already given, to number a repeat. A unique id with no ` (` needs no entry: no
    // other id is the same, and every name made from id, package and version holds ` (`. So on
    // the usual scan (ids unique) this stays empty rather than holding every name.
    let mut used: HashMap<Cow<str>, usize> = HashMap::new();
    let mut xml = Vec::new();
    for (chunk, repeated) in image.findings.chunks(CHUNK).zip(repeated.chunks(CHUNK)) {
        let mut suite = TestSuite::new("");
        suite.test_cases.reserve_exact(chunk.len());
        for (j, &repeated) in chunk.iter().zip(repeated) {
            let id = j.finding.id();
            let mut name = Cow::Borrowed(id);
            if repeated {
                let package = j.finding.packages.first();
                name = Cow::Owned(
                    format!(
                        "{} ({} {})",
                        id,
                        package.map(|p| p.name.as_str()).unwrap_or("image"),
                        package.and_then(|p| p.version.as_deref()).unwrap_or("")
                    )
                    .trim_end()
                    .to_string(),
                );
            }
            let name = if !repeated && !id.contains(" (") {
                name.into_owned()
            } else {
                let n = used.entry(name.clone()).or_default();
                *n += 1;
                if *n > 1 {
                    format!("{name} #{n}")
                } else {
                    name.into_owned()
                }
            };
            suite.add_test_case(finding_case(j, name));
        }
        let mut report = Report::new("");
        report.add_test_suite(suite);
        xml.clear();
        report.serialize(&mut xml).map_err(io::Error::other)?;
        out.write_all(cases_of(&xml)?)?;
    }
    Ok(())
}

/// The testcases of a one-suite report: after the `<testsuite …>` start tag (an unnamed
/// suite's attributes are numbers, so its first `>` ends it), before `</testsuite>`.
fn cases_of(xml: &[u8]) -> io::Result<&[u8]> {
    let broken = || io::Error::other("unexpected JUnit chunk layout");
    let suite = find(xml, b"<testsuite ").ok_or_else(broken)?;
    let start = suite
        + xml[suite..]
            .iter()
            .position(|&b| b == b'>')
            .ok_or_else(broken)?
        + 1;
    let end = xml
        .windows(17)
        .rposition(|w| w == b"\n    </testsuite>")
        .ok_or_else(broken)?;
    xml.get(start..end).ok_or_else(broken)
}

/// How a finding's testcase ends; the suite counts and [`finding_case`] both follow it.
enum CaseKind {
    Failure,
    Skipped,
    Success,
}

fn case_kind(state: State) -> CaseKind {
    match state {
        State::Violation => CaseKind::Failure,
        State::Allowed | State::IgnoredUnfixed | State::PreExisting => CaseKind::Skipped,
        State::WithinBudget | State::BelowThreshold => CaseKind::Success,
    }
}

fn scan_case(image: &ImageEvaluation) -> TestCase {
    let status = match image.error() {
        Some(error) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(error.message().to_string());
            s.set_type(match error {
                ImageError::ScanUnusable(_) => "scan-unusable",
                ImageError::Aws(_) => "aws-error",
            });
            s
        }
        None => TestCaseStatus::success(),
    };
    let mut case = TestCase::new("scan", status);
    case.set_classname("ecr-scan-gate");
    if let Some(scan) = &image.scan {
        case.set_system_out(format!(
            "{:?} scan, status {}{}",
            scan.kind,
            scan.status,
            scan.completed_at
                .as_deref()
                .map(|t| format!(", completed {t}"))
                .unwrap_or_default()
        ));
    }
    case
}

fn finding_case(j: &JudgedFinding, name: String) -> TestCase {
    let f = &j.finding;
    let summary = format!(
        "{} {} in {}: {}",
        j.severity,
        f.id(),
        f.packages_with_versions(),
        j.reason
    );
    let status = match case_kind(j.state) {
        CaseKind::Failure => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(summary);
            s.set_type(j.severity.as_str());
            if let Some(description) = f.description() {
                s.set_description(description);
            }
            s
        }
        CaseKind::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("{}: {}", j.state.as_str(), j.reason));
            s
        }
        CaseKind::Success => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(name, status);
    let classname = f
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(",");
    case.set_classname(if classname.is_empty() {
        "image".to_string()
    } else {
        classname
    });
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{test_finding, test_image, Finding, ScanKind};
    use crate::policy::Policy;

    /// The JUnit report of one basic image of `findings`, judged by the default policy.
    fn xml_of(findings: Vec<Finding>) -> String {
        let image = test_image("app/web", ScanKind::Basic, findings);
        let eval = crate::judge::evaluate(
            vec![image],
            &Policy::default(),
            crate::timestamp::today_utc(),
        );
        let mut out = Vec::new();
        write(&eval, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    // Issue 19 (found by the fuzz properties): XML keeps the line breaks of a description, so
    // `-o junit` on stdout in a GitHub job printed a line the runner read as a command.
    #[test]
    fn finding_text_never_starts_a_line_with_a_workflow_command_nor_breaks_xml() {
        let hostile = "x\n::error file=a.yml::pwned\r::add-mask::s\n  ##[error]y\u{fffe}\u{ffff}";
        let finding = Finding {
            texts: crate::findings::Texts::new("CVE-1", None, Some(hostile), None),
            ..test_finding("CVE-1", "HIGH")
        };
        // An unknown severity label warns, and the warning quotes it into system-err.
        let label = test_finding("CVE-2", "x\n::warning::z");
        let xml = xml_of(vec![finding, label]);
        assert!(xml.contains("pwned") && xml.contains("warning::z"), "{xml}");
        // U+FFFE and U+FFFF make the document not XML 1.0: strict parsers reject it whole.
        assert!(
            !xml.contains(NOT_IN_XML) && xml.contains("y\u{fffd}\u{fffd}"),
            "{xml}"
        );
        for line in xml.split(['\n', '\r']) {
            let line = line.trim_start();
            assert!(
                !line.starts_with("::") && !line.starts_with("##"),
                "{line:?} in\n{xml}"
            );
        }
    }

    /// Every testcase name is unique, also where an id repeats, and where an id is itself
    /// written like a name made from id, package and version.
    #[test]
    fn testcase_names_are_unique() {
        let with = |id: &str, package: &str| Finding {
            packages: [crate::findings::Package {
                name: package.into(),
                version: Some("1".into()),
                fixed_in: None,
            }]
            .into(),
            ..test_finding(id, "HIGH")
        };
        let findings = vec![
            with("CVE-1", "p"),
            with("CVE-1", "p"),
            with("CVE-1 (p 1)", "q"),
            with("CVE-2", "p"),
        ];
        let xml = xml_of(findings);
        let mut names: Vec<&str> = xml
            .split("<testcase name=\"")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .filter(|name| name.starts_with("CVE"))
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["CVE-1 (p 1)", "CVE-1 (p 1) #2", "CVE-1 (p 1) #3", "CVE-2"],
            "{xml}"
        );
    }
}
