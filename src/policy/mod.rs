//! The validated policy: threshold, budgets, allowlist, risk signals (KEV, EPSS, VEX), the
//! baseline, and how flags, environment and the policy file combine into it
//! ([`Policy::resolve`]). The raw file and its spans live in [`file`], each risk-data format in
//! its own module; the one function that judges findings against a policy is `crate::judge`.

pub mod baseline;
pub mod epss;
pub mod file;
pub mod kev;
pub mod vex;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use globset::GlobMatcher;
use time::Date;

use crate::findings::{Finding, Severity};

/// `fail-on`: the lowest severity that violates, or `none` (only budgets can fail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// `none`: no threshold, so only budgets can fail.
    None,
    /// Findings at or above this severity violate.
    At(Severity),
}

impl FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("none") {
            return Ok(FailOn::None);
        }
        s.parse::<Severity>()
            .map(FailOn::At)
            .map_err(|e| format!("{e}, or none"))
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailOn::None => f.write_str("none"),
            FailOn::At(s) => s.fmt(f),
        }
    }
}

/// `--max SEV=N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The severity the budget counts.
    pub severity: Severity,
    /// How many findings of it may pass; one more and they all violate.
    pub max: u64,
}

impl FromStr for Budget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (sev, n) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not SEVERITY=COUNT (e.g. medium=10)"))?;
        let severity = sev.parse::<Severity>()?;
        let max = n
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("`{n}` in `{s}` is not a non-negative whole number"))?;
        Ok(Budget { severity, max })
    }
}

/// One allowlist entry, from the policy file or `--allow`.
#[derive(Clone, Debug)]
pub struct AllowEntry {
    /// The vulnerability id, matched case-insensitively.
    pub id: String,
    /// Why it is allowed, shown as the finding's reason.
    pub reason: Option<String>,
    /// The last day the entry applies (UTC); after that it only warns.
    pub expires: Option<Date>,
    /// Only findings in this package, when set.
    pub package: Option<String>,
    /// Only repositories matching this glob, when set: the pattern as written, and compiled.
    pub repository: Option<(String, GlobMatcher)>,
    /// Where the entry was written (`file:line:column` or `--allow`), for warnings.
    pub origin: String,
}

impl AllowEntry {
    /// An entry from `--allow ID`: any package, any repository, no expiry.
    pub fn from_flag(id: &str) -> Self {
        AllowEntry {
            id: id.trim().to_string(),
            reason: None,
            expires: None,
            package: None,
            repository: None,
            origin: "--allow".to_string(),
        }
    }

    /// Entries expire at the end of their date (UTC): an entry dated today still applies.
    pub fn is_expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|d| d < today)
    }

    pub(crate) fn matches(&self, finding: &Finding, repository: &str) -> bool {
        finding.ids().any(|id| self.id.eq_ignore_ascii_case(id))
            && self
                .package
                .as_ref()
                // Every package the finding names must be this one: an entry for libwebp7
                // does not allow a finding that also names libtiff6.
                .is_none_or(|p| {
                    !finding.packages.is_empty() && finding.package_names().all(|n| n == p)
                })
            && self
                .repository
                .as_ref()
                .is_none_or(|(_, glob)| glob.is_match(repository))
    }

    pub(crate) fn reason(&self) -> Arc<str> {
        match &self.reason {
            Some(reason) => reason.as_str().into(),
            None => format!("allowed by {}", self.origin).into(),
        }
    }
}

/// The validated policy.
#[derive(Debug)]
pub struct Policy {
    /// The lowest severity that violates, where no budget covers the severity.
    pub fail_on: FailOn,
    /// Budgets, at most one per severity (a later one replaces an earlier one).
    pub budgets: Vec<Budget>,
    /// Findings with no fix (`Fix::No`) do not violate.
    pub ignore_unfixed: bool,
    /// The severity findings of unknown severity are judged at.
    pub treat_unknown_as: Severity,
    /// The allowlist: the file's entries, then `--allow`; the first match wins.
    pub allow: Vec<AllowEntry>,
    /// VEX statements: `not_affected`/`fixed` allow a finding.
    pub vex: vex::Vex,
    /// The CISA KEV catalog: a judged finding in it violates.
    pub kev: Option<kev::Kev>,
    /// EPSS scores, shown on findings and used by `fail_on_epss`.
    pub epss: Option<epss::Epss>,
    /// A judged finding with an EPSS probability at or above this violates.
    pub fail_on_epss: Option<f64>,
    /// A judged finding Inspector marks exploitable, at or above this severity, violates.
    pub fail_on_exploitable: Option<Severity>,
    /// Findings already in the baseline are pre-existing, not violations (unless escalated).
    pub baseline: Option<baseline::Baseline>,
    /// `--require-digest`: an image named by a tag, not a digest, violates (only what was
    /// judged can be deployed).
    pub require_digest: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fail_on: FailOn::At(Severity::High),
            budgets: Vec::new(),
            ignore_unfixed: false,
            treat_unknown_as: Severity::Unknown,
            allow: Vec::new(),
            vex: vex::Vex::default(),
            kev: None,
            epss: None,
            fail_on_epss: None,
            fail_on_exploitable: None,
            baseline: None,
            require_digest: false,
        }
    }
}

/// What the command line (flags and `ECR_SCAN_GATE_*`) says about the policy.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--fail-on`, over the file's.
    pub fail_on: Option<FailOn>,
    /// `--max`: each replaces the file's budget for its severity.
    pub budgets: Vec<Budget>,
    /// `--ignore-unfixed`, over the file's.
    pub ignore_unfixed: Option<bool>,
    /// `--allow` ids, added to the file's allowlist.
    pub allow: Vec<String>,
    /// `--vex` documents, added to the file's.
    pub vex: Vec<PathBuf>,
    /// `--kev`, over the file's.
    pub kev: Option<PathBuf>,
    /// `--epss`, over the file's.
    pub epss: Option<PathBuf>,
    /// `--fail-on-epss`, over the file's.
    pub fail_on_epss: Option<f64>,
    /// `--fail-on-exploitable`, over the file's.
    pub fail_on_exploitable: Option<Severity>,
    /// `--baseline`: a JSON report of this tool.
    pub baseline: Option<PathBuf>,
}

impl Policy {
    /// Flags override the file, the file overrides defaults. `--allow` and `--vex` add to the
    /// file's; `--max` replaces the file's budget for that severity. Every risk-data file is
    /// read and checked here, before any AWS call.
    pub fn resolve(
        file: Option<file::PolicyFile>,
        overrides: Overrides,
    ) -> Result<Policy, file::ConfigError> {
        let mut policy = Policy::default();
        let (mut vex, mut kev, mut epss) = (Vec::new(), None, None);
        if let Some(file) = file {
            vex = file.vex;
            kev = file.kev;
            epss = file.epss;
            policy.fail_on_epss = file.fail_on_epss;
            policy.fail_on_exploitable = file.fail_on_exploitable;
            policy.fail_on = file.fail_on.unwrap_or(policy.fail_on);
            policy.ignore_unfixed = file.ignore_unfixed.unwrap_or(false);
            policy.treat_unknown_as = file.treat_unknown_as.unwrap_or(Severity::Unknown);
            policy.budgets = file.budgets;
            policy.allow = file.allow;
        }
        if let Some(fail_on) = overrides.fail_on {
            policy.fail_on = fail_on;
        }
        for budget in overrides.budgets {
            policy.budgets.retain(|b| b.severity != budget.severity);
            policy.budgets.push(budget);
        }
        if let Some(ignore_unfixed) = overrides.ignore_unfixed {
            policy.ignore_unfixed = ignore_unfixed;
        }
        policy
            .allow
            .extend(overrides.allow.iter().map(|id| AllowEntry::from_flag(id)));
        vex.extend(overrides.vex);
        policy.fail_on_epss = overrides.fail_on_epss.or(policy.fail_on_epss);
        policy.fail_on_exploitable = overrides.fail_on_exploitable.or(policy.fail_on_exploitable);
        let epss = overrides.epss.or(epss);
        if policy.fail_on_epss.is_some() && epss.is_none() {
            return Err(file::ConfigError::whole(
                "fail-on-epss",
                "needs EPSS scores: give --epss FILE (or `epss` in the policy file)",
            ));
        }
        policy.vex = vex::Vex::load(&vex)?;
        policy.kev = overrides
            .kev
            .or(kev)
            .map(|p| kev::Kev::load(&p))
            .transpose()?;
        policy.epss = epss.map(|p| epss::Epss::load(&p)).transpose()?;
        policy.baseline = overrides
            .baseline
            .map(|p| baseline::Baseline::load(&p))
            .transpose()?;
        Ok(policy)
    }

    pub(crate) fn budget(&self, severity: Severity) -> Option<u64> {
        self.budgets
            .iter()
            .find(|b| b.severity == severity)
            .map(|b| b.max)
    }

    /// The severity judged for a finding labelled `severity`: `treat-unknown-as` ranks unknown.
    pub(crate) fn rank(&self, severity: Severity) -> Severity {
        match severity {
            Severity::Unknown => self.treat_unknown_as,
            other => other,
        }
    }

    pub(crate) fn effective_severity(&self, finding: &Finding) -> Severity {
        self.rank(finding.severity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_add_allow_entries_and_replace_budgets() {
        let file = file::parse(
            "fail-on = \"critical\"\n[max]\nmedium = 3\nlow = 1\n[[allow]]\nid = \"A\"\nreason = \"r\"\n",
            "p.toml",
        )
        .unwrap();
        let policy = Policy::resolve(
            Some(file),
            Overrides {
                budgets: vec!["medium=7".parse().unwrap()],
                allow: vec!["B".into()],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(policy.fail_on, FailOn::At(Severity::Critical));
        assert_eq!(policy.budget(Severity::Medium), Some(7));
        assert_eq!(policy.budget(Severity::Low), Some(1));
        assert_eq!(
            policy
                .allow
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>(),
            vec!["A", "B"]
        );
    }

    #[test]
    fn flag_values_parse() {
        assert_eq!("NONE".parse::<FailOn>(), Ok(FailOn::None));
        assert_eq!("Medium".parse::<FailOn>(), Ok(FailOn::At(Severity::Medium)));
        assert!("severe".parse::<FailOn>().is_err());
        assert_eq!(
            "HIGH=3".parse::<Budget>(),
            Ok(Budget {
                severity: Severity::High,
                max: 3
            })
        );
        assert!("high".parse::<Budget>().is_err());
        assert!("high=-1".parse::<Budget>().is_err());
    }
}
