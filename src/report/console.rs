//! Human-readable report: per image a summary and the violating findings, then warnings and
//! the overall verdict. Colour only when asked for (a terminal without NO_COLOR).

use std::io::{self, Write};

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

use super::escape::{terminal, truncate};
use crate::evaluation::{Evaluation, ImageEvaluation, PromotionStatus, State, Verdict};
use crate::findings::Severity;

/// The console report: per image a summary and its violations, then the verdict; `color` adds ANSI.
pub fn write(
    eval: &Evaluation,
    out: &mut dyn Write,
    color: bool,
    by_repository: bool,
) -> io::Result<()> {
    let paint = |text: &str, code: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    for image in &eval.images {
        write_image(image, out, &paint)?;
    }
    let warnings = eval.all_warnings();
    if !warnings.is_empty() {
        writeln!(out, "{}", paint("Warnings:", "33;1"))?;
        for w in &warnings {
            writeln!(out, "  - {}", terminal(w))?;
        }
        writeln!(out)?;
    }
    write_promotion(eval, out, &paint)?;
    let images = eval.images.len();
    let failing = eval
        .images
        .iter()
        .filter(|i| i.verdict() == Verdict::Fail)
        .count();
    let errors = eval
        .images
        .iter()
        .filter(|i| i.verdict() == Verdict::Error)
        .count();
    let promotion_failed = eval.promotion.as_ref().is_some_and(|p| p.error().is_some());
    let summary = match eval.verdict() {
        Verdict::Pass => format!(
            "{} — {images} image(s) pass the policy (fail-on {})",
            paint("PASS", "32;1"),
            eval.fail_on
        ),
        Verdict::Fail => format!(
            "{} — {failing} of {images} image(s) violate the policy (fail-on {})",
            paint("FAIL", "31;1"),
            eval.fail_on
        ),
        // Promotion runs only after a pass: every image was judged, and what failed is the
        // promotion (exit 4), which "could not be judged" would misreport.
        Verdict::Error if errors == 0 && promotion_failed => format!(
            "{} — the promotion failed; {images} image(s) pass the policy (fail-on {})",
            paint("ERROR", "31;1"),
            eval.fail_on
        ),
        Verdict::Error => format!(
            "{} — {errors} of {images} image(s) could not be judged{}",
            paint("ERROR", "31;1"),
            if failing > 0 {
                format!(", {failing} violate the policy")
            } else {
                String::new()
            }
        ),
    };
    writeln!(out, "Verdict: {summary} (exit code {})", eval.exit_code())?;
    if by_repository {
        write_repositories(eval, out, &paint)?;
    }
    Ok(())
}

/// `audit`: one line per repository, worst first (errors, then failures, then passes; most
/// violations first), so a registry's problems head the list.
fn write_repositories(
    eval: &Evaluation,
    out: &mut dyn Write,
    paint: &dyn Fn(&str, &str) -> String,
) -> io::Result<()> {
    let mut rows: Vec<(String, Verdict, usize, usize)> = Vec::new();
    for image in &eval.images {
        let name = match &image.image.registry_id {
            Some(account) => format!("{account}/{}", image.image.repository),
            None => image.image.repository.clone(),
        };
        let violations = image.counts.total().violations;
        match rows.iter_mut().find(|r| r.0 == name) {
            Some(row) => {
                row.1 = row.1.max(image.verdict());
                row.2 += 1;
                row.3 += violations;
            }
            None => rows.push((name, image.verdict(), 1, violations)),
        }
    }
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(b.3.cmp(&a.3)).then(a.0.cmp(&b.0)));
    writeln!(out)?;
    writeln!(out, "{}", paint("Repositories (worst first):", "1"))?;
    for (name, verdict, images, violations) in rows {
        let word = match verdict {
            Verdict::Error => paint("ERROR", "31;1"),
            Verdict::Fail => paint("FAIL ", "31;1"),
            Verdict::Pass => paint("PASS ", "32;1"),
        };
        writeln!(
            out,
            "  {word} {}  {images} image(s), {violations} violation(s)",
            terminal(&name)
        )?;
    }
    Ok(())
}

fn write_image(
    image: &ImageEvaluation,
    out: &mut dyn Write,
    paint: &dyn Fn(&str, &str) -> String,
) -> io::Result<()> {
    writeln!(out, "{}", paint(&terminal(&image.image.to_string()), "1"))?;
    if let Some(registry) = &image.image.registry_id {
        let region = image
            .image
            .region
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        writeln!(
            out,
            "  registry: {}{}",
            terminal(registry),
            terminal(&region)
        )?;
    }
    if let Some(index) = &image.image.index_digest {
        writeln!(out, "  index:    {}", terminal(index))?;
    }
    if let Some(scan) = &image.scan {
        let kind = match scan.kind {
            crate::findings::ScanKind::Basic => "basic",
            crate::findings::ScanKind::Enhanced => "enhanced",
        };
        let completed = scan
            .completed_at
            .as_deref()
            .map(|t| format!(", completed {t}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  scan:     {kind}, {}{completed}",
            terminal(&scan.status)
        )?;
    }
    if let Some(error) = image.error() {
        writeln!(
            out,
            "  {} {}",
            paint("error:", "31;1"),
            terminal(error.message())
        )?;
        writeln!(out, "  verdict:  {}\n", paint("ERROR", "31;1"))?;
        return Ok(());
    }

    let baseline = image.findings.iter().any(|j| j.baseline.is_some());
    let mut counts = Table::new();
    counts.load_style(presets::UTF8_FULL_CONDENSED);
    let mut header = vec!["severity", "total", "allowed", "ignored"];
    if baseline {
        header.push("pre-existing");
    }
    header.push("violations");
    let columns = header.len();
    counts.set_header(header);
    for severity in Severity::ALL {
        let c = &image.counts[severity];
        let mut row = vec![
            severity.to_string(),
            c.total.to_string(),
            c.allowed.to_string(),
            c.ignored.to_string(),
        ];
        if baseline {
            row.push(c.pre_existing.to_string());
        }
        row.push(c.violations.to_string());
        counts.add_row(row);
    }
    for col in 1..columns {
        if let Some(column) = counts.column_mut(col) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    for line in counts.to_string().lines() {
        writeln!(out, "  {line}")?;
    }
    if image.closed > 0 {
        writeln!(
            out,
            "  note: {} closed Inspector finding(s) not judged",
            image.closed
        )?;
    }

    let violations: Vec<_> = image
        .findings
        .iter()
        .filter(|j| j.state == State::Violation)
        .collect();
    if !violations.is_empty() {
        let marks: Vec<String> = violations.iter().map(|j| super::risk_marks(j)).collect();
        let risk = marks.iter().any(|m| !m.is_empty());
        let mut table = Table::new();
        table.load_style(presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Disabled);
        let mut header = vec!["severity", "id", "package", "version", "fixed in"];
        if risk {
            header.push("risk");
        }
        header.push("title");
        table.set_header(header);
        for (j, marks) in violations.into_iter().zip(marks) {
            let f = &j.finding;
            let package = f.package_list();
            let version = f.version();
            let fixed = f.fixed_in();
            let title = f
                .title
                .as_deref()
                .or(f.description.as_deref())
                .unwrap_or("");
            let mut row = vec![
                j.severity.to_string(),
                cell(&terminal(&f.id), 40),
                cell(&terminal(&package), 40),
                cell(&terminal(version), 30),
                cell(&terminal(&fixed), 30),
            ];
            if risk {
                row.push(marks);
            }
            row.push(cell(&terminal(title), 60));
            table.add_row(row);
        }
        writeln!(out, "  violations:")?;
        for line in table.to_string().lines() {
            writeln!(out, "  {line}")?;
        }
    }
    let verdict = match image.verdict() {
        Verdict::Pass => paint("PASS", "32;1"),
        Verdict::Fail => paint("FAIL", "31;1"),
        Verdict::Error => paint("ERROR", "31;1"),
    };
    writeln!(out, "  verdict:  {verdict}\n")
}

/// One line per tag put (`promoted app/web:staging → sha256:…`), then why promotion stopped or
/// never started.
fn write_promotion(
    eval: &Evaluation,
    out: &mut dyn Write,
    paint: &dyn Fn(&str, &str) -> String,
) -> io::Result<()> {
    let Some(promotion) = &eval.promotion else {
        return Ok(());
    };
    for p in &promotion.promoted {
        writeln!(
            out,
            "promoted {}:{} → {}{}",
            terminal(&p.repository),
            terminal(&p.tag),
            terminal(&p.digest),
            if p.unchanged { " (already there)" } else { "" }
        )?;
    }
    match &promotion.status {
        PromotionStatus::Done => Ok(()),
        PromotionStatus::NotAttempted => writeln!(
            out,
            "not promoted: the gate did not pass (exit {})",
            eval.exit_code()
        ),
        PromotionStatus::Failed(error) => writeln!(
            out,
            "{} {}",
            paint("promotion failed:", "31;1"),
            terminal(error.message())
        ),
    }?;
    writeln!(out)
}

/// One table cell of untrusted text, already escaped, cut to `max` characters.
fn cell(escaped: &str, max: usize) -> String {
    truncate(escaped, max).into_owned()
}

/// The console report of `wait`: one status line per image, never a policy verdict.
pub fn write_wait(eval: &Evaluation, out: &mut dyn Write) -> io::Result<()> {
    for image in &eval.images {
        writeln!(out, "{}", wait_status(image))?;
    }
    let usable = eval.images.iter().filter(|i| i.error().is_none()).count();
    writeln!(
        out,
        "{usable} of {} scan(s) usable (exit code {})",
        eval.images.len(),
        eval.exit_code()
    )
}

/// The line `wait` prints per image on stderr when no report is asked for: whether the scan is
/// usable, never a policy verdict.
pub fn wait_status(image: &ImageEvaluation) -> String {
    let line = match (image.error(), &image.scan) {
        (Some(e), _) => format!("{}: not usable: {}", image.image, e.message()),
        (None, Some(scan)) => format!("{}: scan {} (usable)", image.image, scan.status),
        (None, None) => format!("{}: usable", image.image),
    };
    terminal(&line)
}
