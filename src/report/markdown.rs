//! Markdown for `$GITHUB_STEP_SUMMARY` and merge-request notes. Every piece of finding text
//! goes through [`escape::markdown`]; the report's own structure is the only Markdown in it.

use std::io::{self, Write};

use super::escape::{markdown as md, truncate};
use crate::evaluation::{
    BaselineState, Evaluation, ImageEvaluation, JudgedFinding, PromotionStatus, State, Verdict,
};
use crate::findings::Severity;

fn verdict_badge(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅ pass",
        Verdict::Fail => "❌ fail",
        Verdict::Error => "⚠️ error",
    }
}

/// The Markdown report of `wait`: whether each scan is usable, never a policy verdict.
pub fn write_wait(eval: &Evaluation, out: &mut dyn Write) -> io::Result<()> {
    let usable = eval.images.iter().filter(|i| i.error().is_none()).count();
    writeln!(
        out,
        "## ECR scan gate: {usable} of {} scan(s) usable\n",
        eval.images.len()
    )?;
    writeln!(out, "| Image | Scan | Usable |")?;
    writeln!(out, "|---|---|---|")?;
    for image in &eval.images {
        let scan = image
            .scan
            .as_ref()
            .map(|s| md(&s.status))
            .unwrap_or_else(|| "—".to_string());
        let usable = match image.error() {
            Some(e) => format!("⚠️ not usable: {}", md(e.message())),
            None => "✅ scan usable".to_string(),
        };
        writeln!(
            out,
            "| {} | {scan} | {usable} |",
            md(&image.image.to_string())
        )?;
    }
    Ok(())
}

/// The Markdown report, for `$GITHUB_STEP_SUMMARY` or a merge-request note.
pub fn write(eval: &Evaluation, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## ECR scan gate: {}\n", verdict_badge(eval.verdict()))?;
    writeln!(
        out,
        "Policy: fail on `{}` and above. Exit code {}.\n",
        eval.fail_on,
        eval.exit_code()
    )?;
    writeln!(out, "| Image | Scan | Critical | High | Medium | Low | Info | Unknown | Allowed | Violations | Verdict |")?;
    writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")?;
    for image in &eval.images {
        let c = &image.counts;
        let scan = image
            .scan
            .as_ref()
            .map(|s| md(&s.status))
            .unwrap_or_else(|| "—".to_string());
        let t = c.total();
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&image.image.to_string()),
            scan,
            c[Severity::Critical].total,
            c[Severity::High].total,
            c[Severity::Medium].total,
            c[Severity::Low].total,
            c[Severity::Informational].total,
            c[Severity::Unknown].total,
            t.allowed,
            t.violations,
            verdict_badge(image.verdict())
        )?;
    }
    writeln!(out)?;
    write_promotion(eval, out)?;
    for image in &eval.images {
        write_image(image, out)?;
    }
    let warnings = eval.all_warnings();
    if !warnings.is_empty() {
        writeln!(out, "### Warnings\n")?;
        for w in warnings {
            writeln!(out, "- {}", md(&w))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// One line per tag put, then why promotion stopped or never started.
fn write_promotion(eval: &Evaluation, out: &mut dyn Write) -> io::Result<()> {
    let Some(promotion) = &eval.promotion else {
        return Ok(());
    };
    for p in &promotion.promoted {
        writeln!(
            out,
            "- promoted {}:{} → {}{}",
            md(&p.repository),
            md(&p.tag),
            md(&p.digest),
            if p.unchanged { " (already there)" } else { "" }
        )?;
    }
    match &promotion.status {
        PromotionStatus::Done => {}
        PromotionStatus::NotAttempted => writeln!(
            out,
            "- not promoted: the gate did not pass (exit {})",
            eval.exit_code()
        )?,
        PromotionStatus::Failed(error) => {
            writeln!(out, "- **promotion failed:** {}", md(error.message()))?
        }
    }
    writeln!(out)
}

fn write_image(image: &ImageEvaluation, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### {}\n", md(&image.image.to_string()))?;
    if let Some(error) = image.error() {
        writeln!(out, "**Not judged:** {}\n", md(error.message()))?;
        return Ok(());
    }
    if image.findings.iter().any(|j| j.baseline.is_some()) {
        write_against_baseline(image, out)?;
    } else {
        write_violations_first(image, out)?;
    }
    if image.closed > 0 {
        writeln!(
            out,
            "{} closed Inspector finding(s) not judged.\n",
            image.closed
        )?;
    }
    Ok(())
}

/// With a baseline, what this change brought in comes first; old debt is folded away unless
/// a risk signal escalated it.
fn write_against_baseline(image: &ImageEvaluation, out: &mut dyn Write) -> io::Result<()> {
    let (new, unchanged): (Vec<&JudgedFinding>, Vec<&JudgedFinding>) = image
        .findings
        .iter()
        .partition(|j| j.baseline == Some(BaselineState::New));
    let new_violations = new.iter().filter(|j| j.state == State::Violation).count();
    writeln!(
        out,
        "**{} new since baseline** ({new_violations} violating), {} unchanged.\n",
        new.len(),
        unchanged.len()
    )?;
    if !new.is_empty() {
        table(out, &new)?;
    }
    let escalated: Vec<&JudgedFinding> = unchanged
        .iter()
        .copied()
        .filter(|j| j.state == State::Violation)
        .collect();
    if !escalated.is_empty() {
        writeln!(
            out,
            "**{} pre-existing finding(s) escalated** (KEV, EPSS or exploit)\n",
            escalated.len()
        )?;
        table(out, &escalated)?;
    }
    let rest: Vec<&JudgedFinding> = unchanged
        .iter()
        .copied()
        .filter(|j| j.state != State::Violation)
        .collect();
    if !rest.is_empty() {
        writeln!(
            out,
            "<details><summary>{} other finding(s) unchanged since baseline</summary>\n",
            rest.len()
        )?;
        table(out, &rest)?;
        writeln!(out, "</details>\n")?;
    }
    Ok(())
}

fn write_violations_first(image: &ImageEvaluation, out: &mut dyn Write) -> io::Result<()> {
    let violations: Vec<&JudgedFinding> = image
        .findings
        .iter()
        .filter(|j| j.state == State::Violation)
        .collect();
    if violations.is_empty() {
        writeln!(out, "No violations.\n")?;
    } else {
        writeln!(out, "**{} violation(s)**\n", violations.len())?;
        table(out, &violations)?;
    }
    if image.findings.len() > violations.len() {
        let others: Vec<&JudgedFinding> = image
            .findings
            .iter()
            .filter(|j| j.state != State::Violation)
            .collect();
        writeln!(
            out,
            "<details><summary>{} other finding(s)</summary>\n",
            others.len()
        )?;
        table(out, &others)?;
        writeln!(out, "</details>\n")?;
    }
    Ok(())
}

/// GitHub caps a job summary at 1 MiB; a very large image lists its most severe findings.
const MAX_ROWS: usize = 500;

fn table(out: &mut dyn Write, findings: &[&JudgedFinding]) -> io::Result<()> {
    let risk = findings
        .iter()
        .take(MAX_ROWS)
        .any(|j| !super::risk_marks(j).is_empty());
    if risk {
        writeln!(
            out,
            "| Severity | ID | Package | Version | Fixed in | Risk | State | Reason |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    } else {
        writeln!(
            out,
            "| Severity | ID | Package | Version | Fixed in | State | Reason |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|")?;
    }
    for j in findings.iter().take(MAX_ROWS) {
        let f = &j.finding;
        let id = match f.url().and_then(super::escape::url) {
            Some(url) => format!("[{}]({url})", md(f.id())),
            None => md(f.id()),
        };
        let packages = f.package_list();
        let version = f.version();
        let fixed = f.fixed_in();
        let marks = if risk {
            let mut marks = super::risk_marks(j);
            if j.kev.is_some() {
                marks.insert_str(0, "🔥 ");
            }
            format!(" {} |", md(&marks))
        } else {
            String::new()
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |{marks} {} | {} |",
            severity_label(j.severity),
            id,
            md(&truncate(&packages, 80)),
            md(&truncate(version, 40)),
            md(&truncate(&fixed, 40)),
            j.state.as_str(),
            md(&truncate(&j.reason, 160))
        )?;
    }
    if findings.len() > MAX_ROWS {
        writeln!(
            out,
            "\n… and {} more (see the JSON or SARIF report).",
            findings.len() - MAX_ROWS
        )?;
    }
    writeln!(out)
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🟥 critical",
        Severity::High => "🟧 high",
        Severity::Medium => "🟨 medium",
        Severity::Low => "🟦 low",
        Severity::Informational => "⬜ informational",
        Severity::Unknown => "⬜ unknown",
    }
}
