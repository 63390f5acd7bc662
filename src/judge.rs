//! The one place a finding's state and an image's verdict are decided: [`evaluate`] judges
//! every [`ScannedImage`] against a [`Policy`] into the [`Evaluation`] that reports render.
//! Each finding ends in one state, in this order: allowed (allowlist, VEX, Inspector
//! suppression) > ignored-unfixed > pre-existing (in the baseline) > judged (threshold or
//! budget); KEV, EPSS and exploitability escalate a pre-existing or judged finding to a
//! violation.

use std::sync::Arc;

use time::{Date, Duration};

use crate::evaluation::{
    BaselineState, Evaluation, ImageEvaluation, ImageVerdict, JudgedFinding, SeverityCounts, State,
};
use crate::findings::{
    Finding, FindingStatus, Fix, Image, ScanKind, ScannedImage, Severity, Source,
};
use crate::policy::epss::EpssScore;
use crate::policy::kev::KevEntry;
use crate::policy::{FailOn, Policy};

/// Risk data older than this is a smell: the catalog and the scores are published daily.
const STALE_AFTER: Duration = Duration::days(30);

/// Which allow entries and VEX statements matched anything, across every image.
struct Used {
    allow: Vec<bool>,
    vex: Vec<bool>,
}

/// How far ahead an allow entry in use is warned about before it expires.
const EXPIRY_NOTICE: time::Duration = time::Duration::days(7);

/// Judges every image. This is the only place a finding's state or a verdict is decided.
pub fn evaluate(images: Vec<ScannedImage>, policy: &Policy, today: Date) -> Evaluation {
    let mut used = Used {
        allow: vec![false; policy.allow.len()],
        vex: vec![false; policy.vex.statements.len()],
    };
    let images: Vec<ImageEvaluation> = images
        .into_iter()
        .map(|image| judge_image(image, policy, today, &mut used))
        .collect();

    let mut warnings = Vec::new();
    for (entry, used) in policy.allow.iter().zip(&used.allow) {
        if entry.is_expired(today) {
            warnings.push(format!(
                "allow entry {} ({}) expired on {} and no longer suppresses anything",
                entry.id,
                entry.origin,
                entry.expires.map(|d| d.to_string()).unwrap_or_default()
            ));
        } else if !used {
            warnings.push(format!(
                "allow entry {} ({}) matched no finding: remove it if it is no longer needed",
                entry.id, entry.origin
            ));
        } else if let Some(expires) = entry.expires.filter(|d| *d <= today + EXPIRY_NOTICE) {
            // Still allowing, not for long: say so while there is time to fix or renew.
            warnings.push(format!(
                "allow entry {} ({}) expires on {expires}, in {} day(s): fix what it allows or renew it",
                entry.id,
                entry.origin,
                (expires - today).whole_days()
            ));
        }
    }
    for (statement, used) in policy.vex.statements.iter().zip(&used.vex) {
        if !used {
            warnings.push(format!(
                "VEX statement for {} ({}) matched no finding of these images: remove it if it is no longer needed",
                statement.vulnerability, statement.origin
            ));
        }
    }
    let stale = |what: &str, path: &str, date: Option<Date>| match date {
        Some(d) if today - d > STALE_AFTER => Some(format!(
            "{what} {path} is from {d}, more than 30 days ago: download a current one"
        )),
        Some(_) => None,
        None => Some(format!(
            "{what} {path} carries no date, so how old it is cannot be told: download a current one"
        )),
    };
    if let Some(kev) = &policy.kev {
        warnings.extend(stale("the KEV catalog", &kev.path, kev.released));
    }
    if let Some(epss) = &policy.epss {
        warnings.extend(stale("the EPSS scores", &epss.path, epss.score_date));
    }
    if let Some(baseline) = &policy.baseline {
        warnings.extend(baseline.warnings.iter().cloned());
    }
    Evaluation {
        images,
        warnings,
        fail_on: policy.fail_on,
        // Promotion comes after judging, and only after a pass.
        promotion: None,
    }
}

/// What one finding carries into judging besides itself.
struct Pending {
    finding: Box<Finding>,
    severity: Severity,
    exempt: Option<Decision>,
    pre_existing: bool,
    escalation: Option<Arc<str>>,
    kev: Option<KevEntry>,
    epss: Option<EpssScore>,
    baseline: Option<BaselineState>,
}

impl Pending {
    /// Counted against its severity's budget: judged, whether escalated or not.
    fn judged(&self) -> bool {
        self.exempt.is_none() && !self.pre_existing
    }
}

/// One image, in the contract's order: its notes, then per finding the exemptions (allowed,
/// ignored-unfixed), the baseline (pre-existing) and the escalations, then per severity the
/// threshold or budget, then the counts and the verdict.
fn judge_image(
    scanned: ScannedImage,
    policy: &Policy,
    today: Date,
    used: &mut Used,
) -> ImageEvaluation {
    let ScannedImage {
        image,
        source,
        scan,
        findings,
        mut warnings,
        ..
    } = scanned;
    let findings = match findings {
        Ok(findings) => findings,
        Err(error) => {
            return ImageEvaluation {
                image,
                source,
                scan,
                judgement: ImageVerdict::Error(error),
                counts: SeverityCounts::default(),
                closed: 0,
                findings: Vec::new(),
                warnings,
            }
        }
    };
    let basic = scan.as_ref().is_some_and(|s| s.kind == ScanKind::Basic);
    warnings.extend(policy_notes(policy, basic, &image));
    let closed = findings
        .iter()
        .filter(|f| f.status == FindingStatus::Closed)
        .count();
    // Exemptions, the baseline and escalations are decided per finding; threshold and
    // budgets need per-severity totals first.
    // Sized once: after `filter` the length is unknown, and a vector of 50,000 findings grown
    // by doubling ends up to twice the size it needs (and is kept: judging reuses it in place).
    let mut pending_findings: Vec<Pending> = Vec::with_capacity(findings.len() - closed);
    pending_findings.extend(
        findings
            .into_iter()
            .filter(|f| f.status != FindingStatus::Closed)
            .map(|finding| pending(finding, &image, policy, today, used, &mut warnings)),
    );
    let decisions = thresholds(policy, &pending_findings);
    let baseline_origin: Option<Arc<str>> = policy
        .baseline
        .as_ref()
        .map(|b| format!("also in the baseline {}", b.origin).into());
    let mut judged: Vec<JudgedFinding> = pending_findings
        .into_iter()
        .map(|p| decide(p, &decisions, baseline_origin.as_ref()))
        .collect();
    // The judged findings are collected in place, into the larger `Pending` allocation; they
    // live until every report is written, so give back the slack (a shrink in place).
    judged.shrink_to_fit();
    sort_findings(&mut judged);
    let counts = count(&judged);
    let unpinned = unpinned_reference(policy, &source);
    if let Some(reference) = &unpinned {
        warnings.push(format!(
            "{reference} is not pinned by digest (--require-digest): a tag can move after the gate; deploy \
             REPOSITORY@sha256:… (or write the pinned file with --write-pinned)"
        ));
    }
    let judgement = if counts.total().violations > 0 || unpinned.is_some() {
        ImageVerdict::Fail
    } else {
        ImageVerdict::Pass
    };
    ImageEvaluation {
        image,
        source,
        scan,
        judgement,
        counts,
        closed,
        findings: judged,
        warnings,
    }
}

/// Rules that cannot act on this image, and a baseline that does not know its repository.
fn policy_notes(policy: &Policy, basic: bool, image: &Image) -> Vec<String> {
    let mut notes = Vec::new();
    if policy.ignore_unfixed && basic {
        notes.push(
            "ignore-unfixed has no effect on a basic scan: basic findings carry no fix information"
                .to_string(),
        );
    }
    if policy.fail_on_exploitable.is_some() && basic {
        notes.push(
            "fail-on-exploitable has no effect on a basic scan: only Amazon Inspector says whether an exploit exists"
                .to_string(),
        );
    }
    if let Some(baseline) = &policy.baseline {
        if baseline.for_repository(&image.repository).is_none() {
            notes.push(format!(
                "the baseline {} has no image of {}: every finding counts as new",
                baseline.origin, image.repository
            ));
        }
    }
    notes
}

/// Steps 1 to 3 and the escalations for one finding: what it is before the per-severity rules.
fn pending(
    finding: Box<Finding>,
    image: &Image,
    policy: &Policy,
    today: Date,
    used: &mut Used,
    warnings: &mut Vec<String>,
) -> Pending {
    let severity = policy.effective_severity(&finding);
    let exempt = first_exemption(&finding, image, policy, today, used, warnings);
    let baseline = policy.baseline.as_ref().map(|b| {
        if b.for_repository(&image.repository)
            .is_some_and(|b| b.contains(&finding))
        {
            BaselineState::Unchanged
        } else {
            BaselineState::New
        }
    });
    let kev = policy
        .kev
        .as_ref()
        .and_then(|kev| finding.ids().find_map(|id| kev.get(id)));
    let epss = policy.epss.as_ref().and_then(|epss| {
        finding
            .ids()
            .filter_map(|id| epss.get(id))
            .max_by(|a, b| a.probability.total_cmp(&b.probability))
    });
    let escalation = match exempt {
        Some(_) => None,
        None => escalate(
            finding.exploit_available == Some(true),
            severity,
            kev,
            epss,
            policy,
        ),
    };
    Pending {
        pre_existing: exempt.is_none() && baseline == Some(BaselineState::Unchanged),
        finding,
        severity,
        exempt,
        escalation,
        kev,
        epss,
        baseline,
    }
}

/// Step 4, per severity (indexed like the counts): the threshold or budget over the judged
/// findings of that severity.
fn thresholds(policy: &Policy, pending: &[Pending]) -> Vec<Decision> {
    Severity::ALL
        .iter()
        .rev()
        .map(|&severity| {
            let n = pending
                .iter()
                .filter(|p| p.severity == severity && p.judged())
                .count();
            threshold(policy, severity, n as u64)
        })
        .collect()
}

/// The one state of a finding: an exemption, else an escalation (also of a pre-existing
/// finding), else pre-existing, else its severity's threshold or budget.
fn decide(p: Pending, decisions: &[Decision], baseline_origin: Option<&Arc<str>>) -> JudgedFinding {
    let (state, reason) = match (p.exempt, p.escalation) {
        (Some(exempt), _) => exempt,
        (None, Some(escalation)) if p.pre_existing => (
            State::Violation,
            format!("{escalation} (pre-existing in the baseline, escalated)").into(),
        ),
        (None, Some(escalation)) => (State::Violation, escalation),
        (None, None) if p.pre_existing => (
            State::PreExisting,
            baseline_origin
                .cloned()
                .unwrap_or_else(|| "pre-existing".into()),
        ),
        (None, None) => decisions[p.severity as usize].clone(),
    };
    JudgedFinding {
        finding: p.finding,
        severity: p.severity,
        state,
        reason,
        kev: p.kev,
        epss: p.epss,
        baseline: p.baseline,
    }
}

/// Most severe first; within a severity the likeliest to be exploited first.
fn sort_findings(judged: &mut [JudgedFinding]) {
    judged.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| {
                let p = |j: &JudgedFinding| j.epss.map_or(-1.0, |e| e.probability);
                p(b).total_cmp(&p(a))
            })
            .then_with(|| a.finding.id().cmp(b.finding.id()))
            .then_with(|| {
                a.finding
                    .packages
                    .first()
                    .map(|p| &p.name)
                    .cmp(&b.finding.packages.first().map(|p| &p.name))
            })
    });
}

/// Per-severity totals of the states.
fn count(judged: &[JudgedFinding]) -> SeverityCounts {
    let mut counts = SeverityCounts::default();
    for j in judged {
        let c = &mut counts[j.severity];
        c.total += 1;
        match j.state {
            State::Allowed => c.allowed += 1,
            State::IgnoredUnfixed => c.ignored += 1,
            State::PreExisting => c.pre_existing += 1,
            State::Violation => c.violations += 1,
            State::WithinBudget | State::BelowThreshold => {}
        }
    }
    counts
}

/// A finding's state and the reason for it.
type Decision = (State, Arc<str>);

/// Under `--require-digest`, the reference that named this image by a tag rather than a digest.
fn unpinned_reference(policy: &Policy, source: &Source) -> Option<String> {
    let Source::Ecr { reference, .. } = source else {
        return None;
    };
    let by_tag = crate::image_ref::parse(reference)
        .is_ok_and(|r| matches!(r.selector, crate::image_ref::Selector::Tag(_)));
    (policy.require_digest && by_tag).then(|| reference.clone())
}

/// Step 3 of the documented order, for a judged finding of `severity` when `n` judged findings
/// have it: its budget if it has one, else `fail-on`.
fn threshold(policy: &Policy, severity: Severity, n: u64) -> Decision {
    let reason: String = match (policy.budget(severity), policy.fail_on) {
        (Some(max), _) if n > max => {
            let verb = plural(n, "finding exceeds", "findings exceed");
            return (
                State::Violation,
                format!("{n} {severity} {verb} the budget of {max}").into(),
            );
        }
        (Some(max), _) => {
            let verb = plural(n, "finding is within", "findings are within");
            return (
                State::WithinBudget,
                format!("{n} {severity} {verb} the budget of {max}").into(),
            );
        }
        (None, FailOn::At(threshold)) if severity >= threshold => {
            return (
                State::Violation,
                format!("{severity} is at or above fail-on {threshold}").into(),
            );
        }
        (None, fail_on) => format!("{severity} is below fail-on {fail_on}"),
    };
    (State::BelowThreshold, reason.into())
}

/// Whether a finding of `severity` that ECR counts but the read lacks could violate. Decided
/// by the judge's own rules on the worst finding it could be (not allowed, not in the baseline,
/// in KEV, certain to be exploited, an exploit known, one more than its budget), so a rule
/// added to the judge can never be missed here.
pub fn could_violate(policy: &Policy, severity: Severity) -> bool {
    let severity = policy.rank(severity);
    let kev = policy.kev.as_ref().map(|_| KevEntry {
        date_added: Date::MIN,
        ransomware: true,
    });
    let epss = Some(EpssScore {
        probability: 1.0,
        percentile: 1.0,
    });
    let one_too_many = policy
        .budget(severity)
        .map_or(1, |max| max.saturating_add(1));
    escalate(true, severity, kev, epss, policy).is_some()
        || threshold(policy, severity, one_too_many).0 == State::Violation
}

/// What ECR counts that was not read, where it could change the verdict: `None` when the read
/// is complete enough to judge.
pub fn missing_findings(policy: &Policy, image: &ScannedImage) -> Option<String> {
    let missing: Vec<String> = image
        .shortfalls
        .iter()
        .filter(|s| could_violate(policy, s.severity))
        .map(ToString::to_string)
        .collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// The escalation rules: a KEV entry, an EPSS score at or above `fail-on-epss`, or an exploit
/// at or above `fail-on-exploitable` make a violation whatever the threshold or budget. Every
/// rule that applies is named.
fn escalate(
    exploitable: bool,
    severity: Severity,
    kev: Option<KevEntry>,
    epss: Option<EpssScore>,
    policy: &Policy,
) -> Option<Arc<str>> {
    let mut reasons: Vec<String> = Vec::new();
    if let Some(entry) = kev {
        reasons.push(if entry.ransomware {
            format!(
                "in CISA KEV since {}, known ransomware use",
                entry.date_added
            )
        } else {
            format!("in CISA KEV since {}", entry.date_added)
        });
    }
    if let (Some(threshold), Some(score)) = (policy.fail_on_epss, epss) {
        if score.probability >= threshold {
            let date = policy
                .epss
                .as_ref()
                .and_then(|e| e.score_date)
                .map(|d| format!(" on {d}"))
                .unwrap_or_default();
            reasons.push(format!(
                "EPSS {}{date} is at or above fail-on-epss {threshold}",
                score.describe()
            ));
        }
    }
    if let Some(threshold) = policy.fail_on_exploitable {
        if exploitable && severity >= threshold {
            reasons.push(format!(
                "Amazon Inspector knows an exploit for this {severity} finding (fail-on-exploitable {threshold})"
            ));
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; ").into())
}

/// Step 1 and 2 of the documented order: allowlist, VEX or Inspector suppression, then unfixed.
fn first_exemption(
    finding: &Finding,
    image: &Image,
    policy: &Policy,
    today: Date,
    used: &mut Used,
    warnings: &mut Vec<String>,
) -> Option<Decision> {
    // Consulted even when an allow entry wins, so a statement still in use is never called
    // unused.
    let statement = policy.vex.latest(finding, image, &mut used.vex);
    let mut expired_match = None;
    for (i, entry) in policy.allow.iter().enumerate() {
        if !entry.matches(finding, &image.repository) {
            continue;
        }
        if entry.is_expired(today) {
            expired_match.get_or_insert(entry);
            continue;
        }
        used.allow[i] = true;
        return Some((State::Allowed, entry.reason()));
    }
    if let Some(entry) = expired_match {
        warnings.push(format!(
            "{} is no longer allowed: allow entry {} expired on {}",
            finding.id(),
            entry.origin,
            entry.expires.map(|d| d.to_string()).unwrap_or_default()
        ));
    }
    if let Some(statement) = statement.filter(|s| s.status.allows()) {
        return Some((State::Allowed, statement.reason.clone()));
    }
    if finding.status == FindingStatus::Suppressed {
        return Some((State::Allowed, "suppressed in Amazon Inspector".into()));
    }
    if policy.ignore_unfixed && finding.fix == Fix::No {
        return Some((State::IgnoredUnfixed, "no fix available".into()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::{Counts, Verdict};
    use crate::findings::{test_image, Image, Package};
    use crate::policy::{file, AllowEntry, Budget};
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 25);

    fn finding(id: &str, severity: &str, package: &str, fix: Fix) -> Finding {
        Finding {
            packages: [Package {
                name: package.into(),
                version: Some("1".into()),
                fixed_in: None,
            }]
            .into(),
            fix,
            ..crate::findings::test_finding(id, severity)
        }
    }

    fn run(policy: &Policy, findings: Vec<Finding>) -> Evaluation {
        evaluate(
            vec![test_image("app/web", ScanKind::Enhanced, findings)],
            policy,
            TODAY,
        )
    }

    fn pending_of(
        severity: Severity,
        exempt: Option<Decision>,
        escalation: Option<&str>,
        pre_existing: bool,
    ) -> Pending {
        Pending {
            finding: Box::new(finding("CVE-1", "HIGH", "p", Fix::Yes)),
            severity,
            exempt,
            pre_existing,
            escalation: escalation.map(Into::into),
            kev: None,
            epss: None,
            baseline: None,
        }
    }

    #[test]
    fn decide_follows_the_state_order() {
        let decisions = thresholds(&Policy::default(), &[]);
        let allowed = (State::Allowed, Arc::from("r"));
        let state = |p: Pending| decide(p, &decisions, None).state;
        assert_eq!(
            state(pending_of(
                Severity::High,
                Some(allowed),
                Some("kev"),
                false
            )),
            State::Allowed
        );
        assert_eq!(
            state(pending_of(Severity::Low, None, Some("kev"), true)),
            State::Violation
        );
        assert_eq!(
            state(pending_of(Severity::High, None, None, true)),
            State::PreExisting
        );
        assert_eq!(
            state(pending_of(Severity::High, None, None, false)),
            State::Violation
        );
        assert_eq!(
            state(pending_of(Severity::Low, None, None, false)),
            State::BelowThreshold
        );
        let escalated = decide(
            pending_of(Severity::Low, None, Some("in CISA KEV"), true),
            &decisions,
            None,
        );
        assert!(escalated
            .reason
            .contains("pre-existing in the baseline, escalated"));
    }

    #[test]
    fn thresholds_count_only_judged_findings_against_a_budget() {
        let policy = Policy {
            budgets: vec![Budget {
                severity: Severity::Medium,
                max: 1,
            }],
            ..Policy::default()
        };
        let allowed = Some((State::Allowed, Arc::from("r")));
        let two_judged = [
            pending_of(Severity::Medium, None, None, false),
            pending_of(Severity::Medium, None, None, false),
        ];
        assert_eq!(
            thresholds(&policy, &two_judged)[Severity::Medium as usize].0,
            State::Violation
        );
        let one_judged = [
            pending_of(Severity::Medium, None, None, false),
            pending_of(Severity::Medium, allowed, None, false),
        ];
        assert_eq!(
            thresholds(&policy, &one_judged)[Severity::Medium as usize].0,
            State::WithinBudget
        );
    }

    #[test]
    fn policy_notes_name_rules_a_basic_scan_cannot_serve() {
        let policy = Policy {
            ignore_unfixed: true,
            fail_on_exploitable: Some(Severity::High),
            ..Policy::default()
        };
        assert_eq!(policy_notes(&policy, true, &Image::default()).len(), 2);
        assert!(policy_notes(&policy, false, &Image::default()).is_empty());
    }

    fn states(eval: &Evaluation) -> Vec<(String, State)> {
        eval.images[0]
            .findings
            .iter()
            .map(|j| (j.finding.id().to_string(), j.state))
            .collect()
    }

    fn entry(id: &str) -> AllowEntry {
        AllowEntry {
            reason: Some("because".into()),
            ..AllowEntry::from_flag(id)
        }
    }

    #[test]
    fn default_policy_fails_on_high_and_above() {
        let eval = run(
            &Policy::default(),
            vec![
                finding("A", "CRITICAL", "p", Fix::Yes),
                finding("B", "HIGH", "p", Fix::Yes),
                finding("C", "MEDIUM", "p", Fix::Yes),
            ],
        );
        assert_eq!(
            states(&eval),
            vec![
                ("A".into(), State::Violation),
                ("B".into(), State::Violation),
                ("C".into(), State::BelowThreshold)
            ]
        );
        assert_eq!(eval.verdict(), Verdict::Fail);
        assert_eq!(eval.exit_code(), 1);
    }

    #[test]
    fn fail_on_none_passes_everything_without_budgets() {
        let policy = Policy {
            fail_on: FailOn::None,
            ..Policy::default()
        };
        let eval = run(&policy, vec![finding("A", "CRITICAL", "p", Fix::Yes)]);
        assert_eq!(eval.verdict(), Verdict::Pass);
        assert_eq!(eval.exit_code(), 0);
    }

    #[test]
    fn budget_tolerates_up_to_n_then_all_violate() {
        let policy = Policy {
            budgets: vec![Budget {
                severity: Severity::Medium,
                max: 2,
            }],
            ..Policy::default()
        };
        let two = vec![
            finding("A", "MEDIUM", "p", Fix::Yes),
            finding("B", "MEDIUM", "p", Fix::Yes),
        ];
        assert!(states(&run(&policy, two.clone()))
            .iter()
            .all(|(_, s)| *s == State::WithinBudget));
        let mut three = two;
        three.push(finding("C", "MEDIUM", "p", Fix::Yes));
        assert!(states(&run(&policy, three))
            .iter()
            .all(|(_, s)| *s == State::Violation));
    }

    #[test]
    fn budget_overrides_fail_on_for_its_severity() {
        let policy = Policy {
            budgets: vec![Budget {
                severity: Severity::Critical,
                max: 1,
            }],
            ..Policy::default()
        };
        let eval = run(&policy, vec![finding("A", "CRITICAL", "p", Fix::Yes)]);
        assert_eq!(states(&eval)[0].1, State::WithinBudget);
        let policy = Policy {
            budgets: vec![Budget {
                severity: Severity::Low,
                max: 0,
            }],
            ..Policy::default()
        };
        let eval = run(&policy, vec![finding("A", "LOW", "p", Fix::Yes)]);
        assert_eq!(states(&eval)[0].1, State::Violation);
    }

    #[test]
    fn allowed_findings_do_not_count_against_a_budget() {
        let policy = Policy {
            budgets: vec![Budget {
                severity: Severity::High,
                max: 1,
            }],
            allow: vec![entry("A")],
            ..Policy::default()
        };
        let eval = run(
            &policy,
            vec![
                finding("A", "HIGH", "p", Fix::Yes),
                finding("B", "HIGH", "p", Fix::Yes),
            ],
        );
        assert_eq!(
            states(&eval),
            vec![
                ("A".into(), State::Allowed),
                ("B".into(), State::WithinBudget)
            ]
        );
    }

    #[test]
    fn ignore_unfixed_ignores_only_known_unfixed() {
        let policy = Policy {
            ignore_unfixed: true,
            ..Policy::default()
        };
        let eval = run(
            &policy,
            vec![
                finding("A", "HIGH", "p", Fix::No),
                finding("B", "HIGH", "p", Fix::Partial),
                finding("C", "HIGH", "p", Fix::Unknown),
            ],
        );
        assert_eq!(
            states(&eval),
            vec![
                ("A".into(), State::IgnoredUnfixed),
                ("B".into(), State::Violation),
                ("C".into(), State::Violation)
            ]
        );
        assert_eq!(
            eval.images[0].counts[Severity::High],
            Counts {
                total: 3,
                allowed: 0,
                ignored: 1,
                pre_existing: 0,
                violations: 2
            }
        );
    }

    #[test]
    fn ignore_unfixed_on_a_basic_scan_warns() {
        let policy = Policy {
            ignore_unfixed: true,
            ..Policy::default()
        };
        let eval = evaluate(
            vec![test_image("r", ScanKind::Basic, vec![])],
            &policy,
            TODAY,
        );
        assert!(eval.images[0].warnings[0].contains("basic scan"));
    }

    #[test]
    fn allowlist_wins_over_ignore_unfixed_and_carries_its_reason() {
        let policy = Policy {
            ignore_unfixed: true,
            allow: vec![entry("a")],
            ..Policy::default()
        };
        let eval = run(&policy, vec![finding("A", "HIGH", "p", Fix::No)]);
        let j = &eval.images[0].findings[0];
        assert_eq!((j.state, &*j.reason), (State::Allowed, "because"));
    }

    #[test]
    fn entry_expiring_today_still_applies_yesterday_does_not() {
        let mut today = entry("A");
        today.expires = Some(TODAY);
        let eval = run(
            &Policy {
                allow: vec![today],
                ..Policy::default()
            },
            vec![finding("A", "HIGH", "p", Fix::Yes)],
        );
        assert_eq!(states(&eval)[0].1, State::Allowed);
        assert_eq!(
            eval.warnings.len(),
            1,
            "only its last-day notice: {:?}",
            eval.warnings
        );

        let mut yesterday = entry("A");
        yesterday.expires = Some(date!(2026 - 11 - 24));
        let eval = run(
            &Policy {
                allow: vec![yesterday],
                ..Policy::default()
            },
            vec![finding("A", "HIGH", "p", Fix::Yes)],
        );
        assert_eq!(states(&eval)[0].1, State::Violation);
        assert!(
            eval.warnings[0].contains("expired on 2026-11-24"),
            "{:?}",
            eval.warnings
        );
        assert!(eval.images[0].warnings[0].contains("no longer allowed"));
    }

    #[test]
    fn an_entry_in_use_warns_in_its_last_week() {
        for (days, warns) in [(0, true), (7, true), (8, false)] {
            let mut soon = entry("A");
            soon.expires = Some(TODAY + time::Duration::days(days));
            let eval = run(
                &Policy {
                    allow: vec![soon],
                    ..Policy::default()
                },
                vec![finding("A", "HIGH", "p", Fix::Yes)],
            );
            assert_eq!(states(&eval)[0].1, State::Allowed);
            assert_eq!(
                eval.warnings
                    .iter()
                    .any(|w| w.contains(&format!("in {days} day(s)"))),
                warns,
                "{days}: {:?}",
                eval.warnings
            );
        }
    }

    #[test]
    fn unused_entry_warns() {
        let eval = run(
            &Policy {
                allow: vec![entry("CVE-UNUSED")],
                ..Policy::default()
            },
            vec![],
        );
        assert!(
            eval.warnings[0].contains("CVE-UNUSED")
                && eval.warnings[0].contains("matched no finding")
        );
    }

    #[test]
    fn package_scope_limits_an_entry() {
        let mut scoped = entry("A");
        scoped.package = Some("libwebp".into());
        let policy = Policy {
            allow: vec![scoped],
            ..Policy::default()
        };
        let eval = run(
            &policy,
            vec![
                finding("A", "HIGH", "libwebp", Fix::Yes),
                finding("A", "HIGH", "other", Fix::Yes),
            ],
        );
        let by_pkg: Vec<_> = eval.images[0]
            .findings
            .iter()
            .map(|j| (j.finding.packages[0].name.as_str(), j.state))
            .collect();
        assert_eq!(
            by_pkg,
            vec![("libwebp", State::Allowed), ("other", State::Violation)]
        );
    }

    #[test]
    fn a_package_scoped_entry_needs_every_package_of_the_finding_to_match() {
        let mut scoped = entry("A");
        scoped.package = Some("libwebp7".into());
        let policy = Policy {
            allow: vec![scoped],
            ..Policy::default()
        };
        let mut both = finding("A", "HIGH", "libwebp7", Fix::Yes);
        let mut packages = both.packages.into_vec();
        packages.push(Package {
            name: "libtiff6".into(),
            version: None,
            fixed_in: None,
        });
        both.packages = packages.into();
        let eval = run(&policy, vec![both]);
        assert_eq!(states(&eval)[0].1, State::Violation);
        let mut none = finding("A", "HIGH", "x", Fix::Yes);
        none.packages = Box::default();
        assert_eq!(states(&run(&policy, vec![none]))[0].1, State::Violation);
    }

    #[test]
    fn repository_glob_scopes_an_entry_and_star_crosses_slashes() {
        let mut scoped = entry("A");
        scoped.repository = Some(("app/*".into(), file::compile_glob("app/*").unwrap()));
        let policy = Policy {
            allow: vec![scoped],
            ..Policy::default()
        };
        let images = vec![
            test_image(
                "app/team/web",
                ScanKind::Enhanced,
                vec![finding("A", "HIGH", "p", Fix::Yes)],
            ),
            test_image(
                "other/web",
                ScanKind::Enhanced,
                vec![finding("A", "HIGH", "p", Fix::Yes)],
            ),
        ];
        let eval = evaluate(images, &policy, TODAY);
        assert_eq!(eval.images[0].findings[0].state, State::Allowed);
        assert_eq!(eval.images[1].findings[0].state, State::Violation);
        let q = file::compile_glob("app/we?").unwrap();
        assert!(q.is_match("app/web") && !q.is_match("app/webs"));
    }

    #[test]
    fn inspector_suppressed_is_allowed_and_closed_is_only_counted() {
        let mut suppressed = finding("S", "CRITICAL", "p", Fix::Yes);
        suppressed.status = FindingStatus::Suppressed;
        let mut closed = finding("C", "CRITICAL", "p", Fix::Yes);
        closed.status = FindingStatus::Closed;
        let eval = run(&Policy::default(), vec![suppressed, closed]);
        let img = &eval.images[0];
        assert_eq!(img.findings.len(), 1);
        assert_eq!(&*img.findings[0].reason, "suppressed in Amazon Inspector");
        assert_eq!(img.closed, 1);
        assert_eq!(eval.verdict(), Verdict::Pass);
    }

    #[test]
    fn treat_unknown_as_ranks_unknown_findings() {
        let policy = Policy {
            treat_unknown_as: Severity::High,
            ..Policy::default()
        };
        let eval = run(&policy, vec![finding("U", "UNDEFINED", "p", Fix::Yes)]);
        let j = &eval.images[0].findings[0];
        assert_eq!(
            (j.severity, j.finding.severity, j.state),
            (Severity::High, Severity::Unknown, State::Violation)
        );
        assert_eq!(eval.images[0].counts[Severity::High].total, 1);
    }

    #[test]
    fn budgets_count_per_image() {
        let policy = Policy {
            budgets: vec![Budget {
                severity: Severity::High,
                max: 1,
            }],
            ..Policy::default()
        };
        let images = vec![
            test_image(
                "a",
                ScanKind::Enhanced,
                vec![finding("A", "HIGH", "p", Fix::Yes)],
            ),
            test_image(
                "b",
                ScanKind::Enhanced,
                vec![finding("A", "HIGH", "p", Fix::Yes)],
            ),
        ];
        assert_eq!(evaluate(images, &policy, TODAY).verdict(), Verdict::Pass);
    }

    #[test]
    fn every_finding_ends_in_exactly_one_state_and_counts_add_up() {
        let policy = Policy {
            ignore_unfixed: true,
            allow: vec![entry("A")],
            budgets: vec![Budget {
                severity: Severity::Medium,
                max: 5,
            }],
            ..Policy::default()
        };
        let eval = run(
            &policy,
            vec![
                finding("A", "HIGH", "p", Fix::Yes),
                finding("B", "HIGH", "p", Fix::No),
                finding("C", "CRITICAL", "p", Fix::Yes),
                finding("D", "MEDIUM", "p", Fix::Yes),
                finding("E", "LOW", "p", Fix::Yes),
            ],
        );
        let img = &eval.images[0];
        assert!(img.findings.iter().all(|j| !j.reason.is_empty()));
        let t = img.counts.total();
        assert_eq!((t.total, t.allowed, t.ignored, t.violations), (5, 1, 1, 1));
    }

    fn with_kev(cves: &[(&str, &str)]) -> crate::policy::kev::Kev {
        let entries: Vec<String> = cves
            .iter()
            .map(|(id, date)| format!(r#"{{"cveID": "{id}", "dateAdded": "{date}"}}"#))
            .collect();
        crate::policy::kev::Kev::parse(
            format!(
                r#"{{"dateReleased": "2026-11-20", "vulnerabilities": [{}]}}"#,
                entries.join(",")
            )
            .as_bytes(),
            "kev.json",
        )
        .unwrap()
    }

    fn with_epss(rows: &str, date: &str) -> crate::policy::epss::Epss {
        crate::policy::epss::Epss::parse(
            format!("#model_version:v2025.03.14,score_date:{date}T00:00:00Z\ncve,epss,percentile\n{rows}")
                .into_bytes(),
            "epss.csv",
        )
        .unwrap()
    }

    #[test]
    fn kev_escalates_whatever_the_threshold_or_budget() {
        let policy = Policy {
            fail_on: FailOn::None,
            budgets: vec![Budget {
                severity: Severity::Low,
                max: 10,
            }],
            kev: Some(with_kev(&[("CVE-2024-3400", "2024-04-12")])),
            ..Policy::default()
        };
        let mut aliased = finding("GHSA-x", "LOW", "q", Fix::Yes);
        aliased.aliases = ["CVE-2024-3400".into()].into();
        let eval = run(
            &policy,
            vec![
                finding("CVE-2024-3400", "LOW", "p", Fix::Yes),
                finding("CVE-2024-9999", "LOW", "p", Fix::Yes),
                aliased,
            ],
        );
        let img = &eval.images[0];
        let kev: Vec<_> = img
            .findings
            .iter()
            .map(|j| (j.finding.id(), j.state, j.kev.is_some()))
            .collect();
        assert_eq!(
            kev,
            vec![
                ("CVE-2024-3400", State::Violation, true),
                ("CVE-2024-9999", State::WithinBudget, false),
                ("GHSA-x", State::Violation, true),
            ]
        );
        assert_eq!(&*img.findings[0].reason, "in CISA KEV since 2024-04-12");
        assert_eq!(eval.exit_code(), 1);
        // Stale by then: the catalog is dated 2026-11-20.
        let later = evaluate(
            vec![test_image("r", ScanKind::Enhanced, vec![])],
            &policy,
            date!(2027 - 01 - 01),
        );
        assert!(later
            .warnings
            .iter()
            .any(|w| w.contains("KEV catalog kev.json is from 2026-11-20")));
        assert!(run(&policy, vec![]).warnings.is_empty());
    }

    #[test]
    fn epss_at_or_above_the_threshold_violates_and_orders_findings() {
        let policy = Policy {
            fail_on: FailOn::At(Severity::Critical),
            epss: Some(with_epss(
                "CVE-2024-1,0.10000,0.90000\nCVE-2024-2,0.09999,0.89000\nCVE-2024-3,0.5,0.99\n",
                "2026-11-24",
            )),
            fail_on_epss: Some(0.1),
            ..Policy::default()
        };
        let eval = run(
            &policy,
            vec![
                finding("CVE-2024-2", "MEDIUM", "p", Fix::Yes),
                finding("CVE-2024-1", "MEDIUM", "p", Fix::Yes),
                finding("CVE-2024-3", "MEDIUM", "p", Fix::Yes),
            ],
        );
        let got: Vec<_> = eval.images[0]
            .findings
            .iter()
            .map(|j| (j.finding.id(), j.state))
            .collect();
        assert_eq!(
            got,
            vec![
                ("CVE-2024-3", State::Violation),
                ("CVE-2024-1", State::Violation),
                ("CVE-2024-2", State::BelowThreshold),
            ]
        );
        assert_eq!(
            &*eval.images[0].findings[1].reason,
            "EPSS 0.1000 (90th percentile) on 2026-11-24 is at or above fail-on-epss 0.1"
        );
    }

    #[test]
    fn exploitable_at_or_above_the_severity_violates() {
        let policy = Policy {
            fail_on: FailOn::None,
            fail_on_exploitable: Some(Severity::Medium),
            ..Policy::default()
        };
        let exploitable = |id: &str, sev: &str| Finding {
            exploit_available: Some(true),
            ..finding(id, sev, "p", Fix::Yes)
        };
        let eval = run(
            &policy,
            vec![
                exploitable("A", "MEDIUM"),
                exploitable("B", "LOW"),
                finding("C", "HIGH", "p", Fix::Yes),
            ],
        );
        assert_eq!(
            states(&eval),
            vec![
                ("C".into(), State::BelowThreshold),
                ("A".into(), State::Violation),
                ("B".into(), State::BelowThreshold),
            ]
        );
        assert!(eval.images[0].findings[1].reason.contains("exploit"));
        let basic = evaluate(
            vec![test_image("r", ScanKind::Basic, vec![])],
            &policy,
            TODAY,
        );
        assert!(basic.images[0].warnings[0].contains("fail-on-exploitable"));
    }

    #[test]
    fn baseline_makes_old_findings_pre_existing_unless_escalated() {
        let baseline = crate::policy::baseline::Baseline::from_images(
            "prod.json".into(),
            &[test_image(
                "app/web",
                ScanKind::Enhanced,
                vec![
                    finding("OLD", "CRITICAL", "p", Fix::Yes),
                    finding("OLD-KEV", "HIGH", "p", Fix::Yes),
                    finding("OLD-ALLOWED", "HIGH", "p", Fix::Yes),
                    finding("OLD-OTHER-PKG", "HIGH", "p", Fix::Yes),
                ],
            )],
        );
        let policy = Policy {
            baseline: Some(baseline),
            kev: Some(with_kev(&[("OLD-KEV", "2024-01-02")])),
            allow: vec![entry("OLD-ALLOWED")],
            budgets: vec![Budget {
                severity: Severity::High,
                max: 0,
            }],
            ..Policy::default()
        };
        let eval = run(
            &policy,
            vec![
                finding("OLD", "CRITICAL", "p", Fix::Yes),
                finding("NEW", "CRITICAL", "p", Fix::Yes),
                finding("OLD-KEV", "HIGH", "p", Fix::Yes),
                finding("OLD-ALLOWED", "HIGH", "p", Fix::Yes),
                finding("OLD-OTHER-PKG", "HIGH", "q", Fix::Yes),
            ],
        );
        let img = &eval.images[0];
        let got: Vec<_> = img
            .findings
            .iter()
            .map(|j| (j.finding.id(), j.state, j.baseline))
            .collect();
        use crate::evaluation::BaselineState::{New, Unchanged};
        assert_eq!(
            got,
            vec![
                ("NEW", State::Violation, Some(New)),
                ("OLD", State::PreExisting, Some(Unchanged)),
                ("OLD-ALLOWED", State::Allowed, Some(Unchanged)),
                ("OLD-KEV", State::Violation, Some(Unchanged)),
                ("OLD-OTHER-PKG", State::Violation, Some(New)),
            ]
        );
        assert_eq!(&*img.findings[1].reason, "also in the baseline prod.json");
        assert!(
            img.findings[3].reason.contains("escalated"),
            "{}",
            img.findings[3].reason
        );
        // Pre-existing findings, escalated or not, are not counted against a budget.
        assert_eq!(
            &*img.findings[4].reason,
            "1 high finding exceeds the budget of 0"
        );
        assert_eq!(img.counts.total().pre_existing, 1);
    }

    #[test]
    fn vex_allows_by_the_latest_statement_and_unused_statements_warn() {
        let mut vex = crate::policy::vex::Vex::default();
        vex.add(
            br#"{"@context": "https://openvex.dev/ns/v0.2.0", "timestamp": "2026-11-01T00:00:00Z",
                "statements": [
                  {"vulnerability": {"name": "CVE-1"}, "status": "not_affected",
                   "justification": "component_not_present", "products": [{"@id": "pkg:oci/app/web"}]},
                  {"vulnerability": {"name": "CVE-2"}, "status": "under_investigation",
                   "products": [{"@id": "pkg:oci/app/web"}]},
                  {"vulnerability": {"name": "CVE-3"}, "status": "fixed",
                   "products": [{"@id": "pkg:oci/app/other"}]}
                ]}"#,
            "v.json",
        )
        .unwrap();
        let policy = Policy {
            vex,
            kev: Some(with_kev(&[("CVE-1", "2024-01-02")])),
            ..Policy::default()
        };
        let eval = run(
            &policy,
            vec![
                finding("CVE-1", "CRITICAL", "p", Fix::Yes),
                finding("CVE-2", "CRITICAL", "p", Fix::Yes),
            ],
        );
        assert_eq!(
            states(&eval),
            vec![
                ("CVE-1".into(), State::Allowed),
                ("CVE-2".into(), State::Violation)
            ]
        );
        assert_eq!(
            &*eval.images[0].findings[0].reason,
            "VEX not_affected: component_not_present (v.json)"
        );
        assert_eq!(eval.warnings.len(), 1, "{:?}", eval.warnings);
        assert!(
            eval.warnings[0].contains("CVE-3") && eval.warnings[0].contains("v.json:7:"),
            "{:?}",
            eval.warnings
        );
    }

    #[test]
    fn an_allow_entry_naming_an_alias_matches() {
        let mut f = finding("CVE-2023-4863", "HIGH", "libwebp", Fix::Yes);
        f.aliases = ["GHSA-j7hp-h8jx-5ppr".into()].into();
        let policy = Policy {
            allow: vec![entry("ghsa-j7hp-h8jx-5ppr")],
            ..Policy::default()
        };
        assert_eq!(states(&run(&policy, vec![f]))[0].1, State::Allowed);
    }

    #[test]
    fn risk_rules_make_every_severity_able_to_violate() {
        let mut policy = Policy {
            fail_on: FailOn::At(Severity::Critical),
            ..Policy::default()
        };
        assert!(!could_violate(&policy, Severity::Low));
        policy.fail_on_exploitable = Some(Severity::Medium);
        assert!(could_violate(&policy, Severity::Medium) && !could_violate(&policy, Severity::Low));
        policy.kev = Some(with_kev(&[]));
        assert!(could_violate(&policy, Severity::Low));
    }

    #[test]
    fn an_image_the_baseline_has_no_repository_for_is_all_new_with_a_warning() {
        let baseline = crate::policy::baseline::Baseline::from_images(
            "prod.json".into(),
            &[
                test_image(
                    "app/a",
                    ScanKind::Enhanced,
                    vec![finding("OLD", "HIGH", "p", Fix::Yes)],
                ),
                test_image(
                    "app/b",
                    ScanKind::Enhanced,
                    vec![finding("OLD", "HIGH", "p", Fix::Yes)],
                ),
            ],
        );
        let policy = Policy {
            baseline: Some(baseline),
            ..Policy::default()
        };
        let eval = evaluate(
            vec![test_image(
                "app/c",
                ScanKind::Enhanced,
                vec![finding("OLD", "HIGH", "p", Fix::Yes)],
            )],
            &policy,
            TODAY,
        );
        assert_eq!(eval.images[0].findings[0].state, State::Violation);
        assert!(
            eval.images[0].warnings[0].contains("has no image of app/c"),
            "{:?}",
            eval.images[0].warnings
        );
    }
}
