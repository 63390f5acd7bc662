//! The policy file (`.ecr-scan-gate.toml`): parsed with spans, validated into policy parts, and
//! every mistake collected with file, line and column so one run shows them all.

use std::fmt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use time::Date;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{AllowEntry, Budget, FailOn};
use crate::findings::{one_line, Severity};

/// The file used when `--policy` is not given, if it exists in the working directory.
pub const DEFAULT_PATH: &str = ".ecr-scan-gate.toml";

/// What a policy file sets; `None` leaves the default in place.
#[derive(Clone, Debug, Default)]
pub struct PolicyFile {
    /// `fail-on`: the lowest severity that violates.
    pub fail_on: Option<FailOn>,
    /// `ignore-unfixed`: findings with no fix do not violate.
    pub ignore_unfixed: Option<bool>,
    /// `treat-unknown-as`: the severity unknown findings are judged at.
    pub treat_unknown_as: Option<Severity>,
    /// `[max]`: per-severity budgets.
    pub budgets: Vec<Budget>,
    /// `[[allow]]` entries, in file order.
    pub allow: Vec<AllowEntry>,
    /// `vex`: OpenVEX documents, relative to the policy file.
    pub vex: Vec<PathBuf>,
    /// `kev`: the CISA KEV catalog, relative to the policy file.
    pub kev: Option<PathBuf>,
    /// `epss`: the FIRST EPSS daily CSV, relative to the policy file.
    pub epss: Option<PathBuf>,
    /// `fail-on-epss`: an EPSS probability at or above it violates.
    pub fail_on_epss: Option<f64>,
    /// `fail-on-exploitable`: an exploitable finding at or above it violates.
    pub fail_on_exploitable: Option<Severity>,
}

/// One mistake in a policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line; 0 when the problem is the file itself (e.g. unreadable).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong, and what was expected.
    pub message: String,
}

/// Every mistake found in one policy file.
#[derive(Debug)]
pub struct ConfigError {
    /// The policy file as given, for messages.
    pub path: String,
    /// Every problem found, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            // A value quoted from the file can hold a line break: shown as `\n`, so each
            // problem stays one line that names the file (issue 19).
            let message = one_line(&p.message);
            // Line 0: the problem is the file itself (e.g. unreadable), not a spot in it.
            if p.line == 0 {
                write!(f, "{}: {message}", self.path)?;
            } else {
                write!(f, "{}:{}:{}: {message}", self.path, p.line, p.column)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// A problem with the file as a whole (unreadable, wrong format): no line or column.
    pub fn whole(path: impl fmt::Display, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.to_string(),
            problems: vec![Problem {
                line: 0,
                column: 0,
                message: message.into(),
            }],
        }
    }

    /// A problem at a byte offset of `text`.
    pub fn at(
        path: impl fmt::Display,
        text: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = line_column(text, offset);
        ConfigError {
            path: path.to_string(),
            problems: vec![Problem {
                line,
                column,
                message: message.into(),
            }],
        }
    }

    /// serde_json's error in `inner`, a part of `text` starting at byte `start`, placed in the
    /// whole file.
    pub fn json_at(
        path: impl fmt::Display,
        text: &str,
        start: usize,
        inner: &str,
        error: &serde_json::Error,
        what: &str,
    ) -> Self {
        let line_start: usize = inner
            .split_inclusive('\n')
            .take(error.line().saturating_sub(1))
            .map(str::len)
            .sum();
        let at = (line_start + error.column().saturating_sub(1)).min(inner.len());
        let mut located = ConfigError::json(path, error, what);
        let (line, column) = line_column(text, start + at);
        located.problems[0].line = line;
        located.problems[0].column = column;
        located
    }

    /// serde_json's error, its position moved up front; `what` says what the file should be.
    pub fn json(path: impl fmt::Display, error: &serde_json::Error, what: &str) -> Self {
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => &message[..i],
            None => &message,
        };
        let message = match error.classify() {
            serde_json::error::Category::Data => format!("not {what}: {message}"),
            _ => format!("invalid JSON: {message}"),
        };
        ConfigError {
            path: path.to_string(),
            problems: vec![Problem {
                line: error.line(),
                column: error.column(),
                message,
            }],
        }
    }
}

/// Where `inner` (a slice of `text`, as serde_json's `RawValue` borrows it) starts in `text`.
pub(crate) fn offset_of(text: &str, inner: &str) -> usize {
    (inner.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

/// Reads a risk-data file named by the policy (KEV, EPSS, VEX, baseline) whole; an unreadable
/// one is a configuration error naming it.
pub fn read_input(path: &Path, what: &str) -> Result<Vec<u8>, ConfigError> {
    let mut bytes = std::fs::read(path)
        .map_err(|e| ConfigError::whole(path.display(), format!("cannot read {what}: {e}")))?;
    // Editors on Windows save a byte-order mark in front; it is not part of the data.
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    Ok(bytes)
}

/// Reads and validates a policy file; an unreadable file is one problem at line 0.
pub fn load(path: &Path) -> Result<PolicyFile, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: display.clone(),
        problems: vec![Problem {
            line: 0,
            column: 0,
            message: format!("cannot read policy file: {e}"),
        }],
    })?;
    parse(&text, &display)
}

/// Compiles an allow entry's `repository` glob; `*` also matches `/`.
pub fn compile_glob(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("invalid repository glob `{pattern}`: {}", e.kind()))
}

/// Validates policy file text, collecting every problem; `path` is only for messages.
pub fn parse(text: &str, path: &str) -> Result<PolicyFile, ConfigError> {
    let mut checker = FileChecker {
        text,
        path,
        problems: Vec::new(),
    };
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            checker.problem(at, format!("invalid TOML: {}", e.message().trim()));
            return Err(checker.into_error());
        }
    };
    let mut file = PolicyFile::default();
    // Paths in the file are relative to it, so a policy works from any working directory.
    let base = Path::new(path).parent().unwrap_or(Path::new(""));
    let base = &lexical(base);
    for (key, value) in root.get_ref() {
        let at = key.span().start;
        match key.get_ref().as_ref() {
            "fail-on" => {
                file.fail_on = checker.string(value).and_then(|s| checker.parsed::<FailOn>(value, s));
            }
            "ignore-unfixed" => match value.get_ref() {
                DeValue::Boolean(b) => file.ignore_unfixed = Some(*b),
                _ => checker.problem(value.span().start, "`ignore-unfixed` must be true or false"),
            },
            "treat-unknown-as" => {
                file.treat_unknown_as = checker.string(value).and_then(|s| checker.parsed::<Severity>(value, s));
            }
            "max" => file.budgets = checker.budgets(value),
            "allow" => file.allow = checker.allow_list(value),
            "vex" => file.vex = checker.paths(value, base),
            "kev" => file.kev = checker.string(value).map(|s| lexical(&base.join(s))),
            "epss" => file.epss = checker.string(value).map(|s| lexical(&base.join(s))),
            "fail-on-epss" => file.fail_on_epss = checker.probability(value),
            "fail-on-exploitable" => {
                file.fail_on_exploitable = checker.string(value).and_then(|s| checker.parsed::<Severity>(value, s));
            }
            other => checker.problem(
                at,
                format!("unknown key `{other}` (expected fail-on, ignore-unfixed, treat-unknown-as, max, allow, \
                         vex, kev, epss, fail-on-epss, fail-on-exploitable)"),
            ),
        }
    }
    if checker.problems.is_empty() {
        Ok(file)
    } else {
        Err(checker.into_error())
    }
}

struct FileChecker<'a> {
    text: &'a str,
    path: &'a str,
    problems: Vec<Problem>,
}

type Value<'i> = Spanned<DeValue<'i>>;

impl FileChecker<'_> {
    fn problem(&mut self, offset: usize, message: impl Into<String>) {
        let (line, column) = line_column(self.text, offset);
        self.problems.push(Problem {
            line,
            column,
            message: message.into(),
        });
    }

    fn into_error(mut self) -> ConfigError {
        self.problems.sort_by_key(|p| (p.line, p.column));
        ConfigError {
            path: self.path.to_string(),
            problems: self.problems,
        }
    }

    fn string<'v>(&mut self, value: &'v Value<'_>) -> Option<&'v str> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.problem(value.span().start, "expected a string");
                None
            }
        }
    }

    /// `vex = "a.json"` or `vex = ["a.json", "b.json"]`.
    fn paths(&mut self, value: &Value<'_>, base: &Path) -> Vec<PathBuf> {
        match value.get_ref() {
            DeValue::String(s) => vec![lexical(&base.join(s.as_ref()))],
            DeValue::Array(items) => items
                .iter()
                .filter_map(|item| self.string(item).map(|s| lexical(&base.join(s))))
                .collect(),
            _ => {
                self.problem(
                    value.span().start,
                    "expected a file name or an array of them",
                );
                Vec::new()
            }
        }
    }

    fn probability(&mut self, value: &Value<'_>) -> Option<f64> {
        let number = match value.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            DeValue::Integer(i) => i.as_str().replace('_', "").parse::<f64>().ok(),
            _ => None,
        };
        match number.map(|n| parse_probability(&n.to_string())) {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                self.problem(value.span().start, e);
                None
            }
            None => {
                self.problem(
                    value.span().start,
                    "`fail-on-epss` must be a number from 0 to 1",
                );
                None
            }
        }
    }

    fn parsed<T: std::str::FromStr<Err = String>>(
        &mut self,
        value: &Value<'_>,
        text: &str,
    ) -> Option<T> {
        text.parse::<T>()
            .map_err(|e| self.problem(value.span().start, e))
            .ok()
    }

    fn budgets(&mut self, value: &Value<'_>) -> Vec<Budget> {
        let DeValue::Table(table) = value.get_ref() else {
            self.problem(
                value.span().start,
                "`max` must be a table of severity = count",
            );
            return Vec::new();
        };
        let mut budgets = Vec::new();
        for (key, n) in table {
            let Ok(severity) = key.get_ref().parse::<Severity>() else {
                self.problem(
                    key.span().start,
                    format!("unknown severity `{}` in [max]", key.get_ref()),
                );
                continue;
            };
            let max = match n.get_ref() {
                DeValue::Integer(i) => {
                    i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok()
                }
                _ => None,
            };
            if budgets.iter().any(|b: &Budget| b.severity == severity) {
                self.problem(
                    key.span().start,
                    format!("[max] sets a budget for {severity} twice"),
                );
                continue;
            }
            match max.and_then(|m| u64::try_from(m).ok()) {
                Some(max) => budgets.push(Budget { severity, max }),
                None => self.problem(
                    n.span().start,
                    format!("budget for {severity} must be a whole number ≥ 0"),
                ),
            }
        }
        budgets
    }

    fn allow_list(&mut self, value: &Value<'_>) -> Vec<AllowEntry> {
        let DeValue::Array(entries) = value.get_ref() else {
            self.problem(
                value.span().start,
                "`allow` must be an array of tables ([[allow]])",
            );
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|entry| self.allow_entry(entry))
            .collect()
    }

    fn allow_entry(&mut self, value: &Value<'_>) -> Option<AllowEntry> {
        let start = value.span().start;
        let DeValue::Table(table) = value.get_ref() else {
            self.problem(start, "each allow entry must be a table with id and reason");
            return None;
        };
        let before = self.problems.len();
        let (line, column) = line_column(self.text, start);
        let mut entry = AllowEntry {
            id: String::new(),
            reason: None,
            expires: None,
            package: None,
            repository: None,
            origin: format!("{}:{line}:{column}", self.path),
        };
        for (key, v) in table {
            match key.get_ref().as_ref() {
                "id" => entry.id = self.string(v).map(|s| s.trim().to_string()).unwrap_or_default(),
                "reason" => entry.reason = self.string(v).map(|s| s.trim().to_string()),
                "package" => entry.package = self.string(v).map(str::to_string),
                "expires" => entry.expires = self.date(v),
                "repository" => {
                    if let Some(pattern) = self.string(v) {
                        match compile_glob(pattern) {
                            Ok(glob) => entry.repository = Some((pattern.to_string(), glob)),
                            Err(e) => self.problem(v.span().start, e),
                        }
                    }
                }
                other => self.problem(
                    key.span().start,
                    format!("unknown key `{other}` in [[allow]] (expected id, reason, expires, package, repository)"),
                ),
            }
        }
        if entry.id.is_empty() && !table.keys().any(|k| k.get_ref() == "id") {
            self.problem(start, "allow entry has no `id`");
        } else if entry.id.is_empty() && self.problems.len() == before {
            self.problem(start, "allow entry has an empty `id`");
        }
        if entry.reason.as_deref().is_none_or(str::is_empty)
            && !table.keys().any(|k| k.get_ref() == "reason")
        {
            self.problem(
                start,
                format!(
                    "allow entry `{}` has no `reason`: say why it is safe to allow",
                    entry.id
                ),
            );
        } else if entry.reason.as_deref() == Some("") {
            self.problem(
                start,
                format!("allow entry `{}` has an empty `reason`", entry.id),
            );
        }
        (self.problems.len() == before).then_some(entry)
    }

    /// `expires = 2027-01-31` (TOML date) and `expires = "2027-01-31"` both work.
    fn date(&mut self, value: &Value<'_>) -> Option<Date> {
        let text = match value.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => dt.to_string(),
            _ => {
                self.problem(
                    value.span().start,
                    "`expires` must be a date like 2027-01-31",
                );
                return None;
            }
        };
        crate::timestamp::calendar_date(&text)
            .map_err(|_| {
                self.problem(
                    value.span().start,
                    format!("`expires` = `{text}` is not a date like 2027-01-31"),
                )
            })
            .ok()
    }
}

/// `policies/../risk/kev.json` as `risk/kev.json`, so messages name files as people would; a
/// `..` that would climb past the start is kept.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Text from a risk-data file, quoted in a message: at most `max` characters.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// An EPSS probability threshold, `0` to `1` inclusive.
pub fn parse_probability(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "`{text}` is not a probability from 0 to 1 (EPSS scores are probabilities, e.g. 0.1)"
        )),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, text[line_start..offset].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn full_example_parses() {
        let file = parse(
            r#"
fail-on = "HIGH"
ignore-unfixed = true
treat-unknown-as = "medium"

[max]
critical = 0
medium = 20

[[allow]]
id = "CVE-2023-4863"
reason = "libwebp never sees untrusted images"
expires = 2027-01-31
package = "libwebp"
repository = "app/*"

[[allow]]
id = "CVE-2024-1"
reason = "string date"
expires = "2027-02-01"
"#,
            "p.toml",
        )
        .unwrap();
        assert_eq!(file.fail_on, Some(FailOn::At(Severity::High)));
        assert_eq!(file.ignore_unfixed, Some(true));
        assert_eq!(file.treat_unknown_as, Some(Severity::Medium));
        assert_eq!(file.budgets.len(), 2);
        assert_eq!(file.allow[0].expires, Some(date!(2027 - 01 - 31)));
        assert_eq!(file.allow[1].expires, Some(date!(2027 - 02 - 01)));
        assert_eq!(file.allow[0].origin, "p.toml:10:1");
        assert!(file.allow[0]
            .repository
            .as_ref()
            .unwrap()
            .1
            .is_match("app/team/web"));
    }

    #[test]
    fn every_mistake_is_reported_with_line_and_column() {
        let err = parse(
            "fail-on = \"severe\"\nbogus = 1\n[max]\nhigh = -1\n[[allow]]\nid = \"CVE-1\"\nexpires = \"31/01/2027\"\n",
            "p.toml",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("p.toml:1:11: unknown severity `severe`"),
            "{text}"
        );
        assert!(text.contains("p.toml:2:1: unknown key `bogus`"), "{text}");
        assert!(text.contains("p.toml:4:8: budget for high"), "{text}");
        assert!(
            text.contains("p.toml:5:1: allow entry `CVE-1` has no `reason`"),
            "{text}"
        );
        assert!(
            text.contains("p.toml:7:11: `expires` = `31/01/2027`"),
            "{text}"
        );
        assert_eq!(err.problems.len(), 5);
    }

    // Issue 19 (found by the fuzz properties): a line break in a quoted value split one problem
    // over two lines, and the second named no file.
    #[test]
    fn each_problem_is_one_line_naming_the_file_whatever_it_quotes() {
        let err = parse("fail-on = \"x\\n::error::y\\r\"\n", "p.toml").unwrap_err();
        let text = err.to_string();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.starts_with("p.toml:1:11: unknown severity `x\\n::error::y\\r`"),
            "{text}"
        );
    }

    #[test]
    fn syntax_errors_point_at_the_spot() {
        let err = parse("fail-on = \"high\"\n[[allow]\n", "p.toml").unwrap_err();
        assert_eq!(err.problems[0].line, 2, "{err}");
        assert!(err.to_string().starts_with("p.toml:2:"), "{err}");
    }

    #[test]
    fn unknown_allow_key_and_missing_id_are_errors() {
        let err = parse("[[allow]]\nreason = \"r\"\nexpire = 2027-01-01\n", "p.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown key `expire` in [[allow]]"), "{text}");
        assert!(text.contains("no `id`"), "{text}");
    }

    #[test]
    fn empty_file_is_the_default_policy() {
        let file = parse("", "p.toml").unwrap();
        assert!(file.fail_on.is_none() && file.allow.is_empty());
    }
}
