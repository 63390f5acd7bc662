//! The one place a finding's state and an image's verdict are decided: [`evaluate`] judges
//! every [`ScannedImage`] against a [`Policy`] into the [`Evaluation`] that reports render.

use std::sync::Arc;

use time::Date;

use crate::evaluation::{
    Evaluation, ImageEvaluation, ImageVerdict, JudgedFinding, SeverityCounts, State,
};
use crate::findings::{Finding, FindingStatus, Fix, ScanKind, ScannedImage, Severity};
use crate::policy::{FailOn, Policy};

/// Judges every image. This is the only place a finding's state or a verdict is decided.
pub fn evaluate(images: Vec<ScannedImage>, policy: &Policy, today: Date) -> Evaluation {
    let mut used = vec![false; policy.allow.len()];
    let images: Vec<ImageEvaluation> = images
        .into_iter()
        .map(|image| judge_image(image, policy, today, &mut used))
        .collect();

    let mut warnings = Vec::new();
    for (entry, used) in policy.allow.iter().zip(&used) {
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
        }
    }
    Evaluation {
        images,
        warnings,
        fail_on: policy.fail_on,
        // Promotion comes after judging, and only after a pass.
        promotion: None,
    }
}

fn judge_image(
    scanned: ScannedImage,
    policy: &Policy,
    today: Date,
    used: &mut [bool],
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
    if policy.ignore_unfixed && scan.as_ref().is_some_and(|s| s.kind == ScanKind::Basic) {
        warnings.push(
            "ignore-unfixed has no effect on a basic scan: basic findings carry no fix information"
                .to_string(),
        );
    }

    let mut closed = 0;
    // Steps 1 and 2 decide some findings alone; the rest need per-severity totals first.
    let mut pending: Vec<(Finding, Severity, Option<Decision>)> =
        Vec::with_capacity(findings.len());
    for finding in findings {
        if finding.status == FindingStatus::Closed {
            closed += 1;
            continue;
        }
        let severity = policy.effective_severity(&finding);
        let exempt = first_exemption(
            &finding,
            &image.repository,
            policy,
            today,
            used,
            &mut warnings,
        );
        pending.push((finding, severity, exempt));
    }

    let judged_at = |severity: Severity| {
        let n = pending
            .iter()
            .filter(|(_, s, exempt)| *s == severity && exempt.is_none())
            .count();
        let reason: String = match (policy.budget(severity), policy.fail_on) {
            (Some(max), _) if n as u64 > max => {
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
    };
    // Indexed by severity, like the counts.
    let decisions: Vec<Decision> = Severity::ALL.iter().rev().map(|s| judged_at(*s)).collect();
    let mut judged: Vec<JudgedFinding> = pending
        .into_iter()
        .map(|(finding, severity, exempt)| {
            let (state, reason) = exempt.unwrap_or_else(|| decisions[severity as usize].clone());
            JudgedFinding {
                finding,
                severity,
                state,
                reason,
            }
        })
        .collect();

    judged.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.finding.id.cmp(&b.finding.id))
            .then_with(|| {
                a.finding
                    .packages
                    .first()
                    .map(|p| &p.name)
                    .cmp(&b.finding.packages.first().map(|p| &p.name))
            })
    });

    let mut counts = SeverityCounts::default();
    for j in &judged {
        let c = &mut counts[j.severity];
        c.total += 1;
        match j.state {
            State::Allowed => c.allowed += 1,
            State::IgnoredUnfixed => c.ignored += 1,
            State::Violation => c.violations += 1,
            State::WithinBudget | State::BelowThreshold => {}
        }
    }
    let judgement = if counts.total().violations > 0 {
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

/// A finding's state and the reason for it.
type Decision = (State, Arc<str>);

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Steps 1 and 2 of the documented order: allowlist or Inspector suppression, then unfixed.
fn first_exemption(
    finding: &Finding,
    repository: &str,
    policy: &Policy,
    today: Date,
    used: &mut [bool],
    warnings: &mut Vec<String>,
) -> Option<Decision> {
    let mut expired_match = None;
    for (i, entry) in policy.allow.iter().enumerate() {
        if !entry.matches(finding, repository) {
            continue;
        }
        if entry.is_expired(today) {
            expired_match.get_or_insert(entry);
            continue;
        }
        used[i] = true;
        return Some((State::Allowed, entry.reason()));
    }
    if let Some(entry) = expired_match {
        warnings.push(format!(
            "{} is no longer allowed: allow entry {} expired on {}",
            finding.id,
            entry.origin,
            entry.expires.map(|d| d.to_string()).unwrap_or_default()
        ));
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
    use crate::findings::{Image, Package, ScanInfo, Source};
    use crate::policy::{file, AllowEntry, Budget};
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 25);

    fn finding(id: &str, severity: &str, package: &str, fix: Fix) -> Finding {
        Finding {
            packages: vec![Package {
                name: package.into(),
                version: Some("1".into()),
                fixed_in: None,
            }],
            fix,
            ..crate::findings::test_finding(id, severity)
        }
    }

    fn scanned(repository: &str, kind: ScanKind, findings: Vec<Finding>) -> ScannedImage {
        ScannedImage::with_findings(
            Image {
                repository: repository.into(),
                ..Default::default()
            },
            Source::File { files: vec![] },
            ScanInfo {
                kind,
                status: "COMPLETE".into(),
                description: None,
                completed_at: None,
            },
            findings,
            None,
        )
    }

    fn run(policy: &Policy, findings: Vec<Finding>) -> Evaluation {
        evaluate(
            vec![scanned("app/web", ScanKind::Enhanced, findings)],
            policy,
            TODAY,
        )
    }

    fn states(eval: &Evaluation) -> Vec<(String, State)> {
        eval.images[0]
            .findings
            .iter()
            .map(|j| (j.finding.id.clone(), j.state))
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
        let eval = evaluate(vec![scanned("r", ScanKind::Basic, vec![])], &policy, TODAY);
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
        assert!(eval.warnings.is_empty(), "{:?}", eval.warnings);

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
        both.packages.push(Package {
            name: "libtiff6".into(),
            version: None,
            fixed_in: None,
        });
        let eval = run(&policy, vec![both]);
        assert_eq!(states(&eval)[0].1, State::Violation);
        let mut none = finding("A", "HIGH", "x", Fix::Yes);
        none.packages.clear();
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
            scanned(
                "app/team/web",
                ScanKind::Enhanced,
                vec![finding("A", "HIGH", "p", Fix::Yes)],
            ),
            scanned(
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
            scanned(
                "a",
                ScanKind::Enhanced,
                vec![finding("A", "HIGH", "p", Fix::Yes)],
            ),
            scanned(
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
}
