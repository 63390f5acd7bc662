//! Reports: one module per format, each rendering the same [`Evaluation`] and deciding
//! nothing. This module parses `-o FORMAT[=PATH]` and writes every requested report.

pub mod console;
pub mod escape;
pub mod gitlab;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::str::FromStr;

use crate::evaluation::Evaluation;

/// A report format, as named in `-o FORMAT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human-readable tables (also `table`); the default.
    Console,
    /// Our own JSON, version 1.
    Json,
    /// SARIF 2.1.0 for GitHub code scanning.
    Sarif,
    /// JUnit XML for CI test views.
    Junit,
    /// Markdown for step summaries and merge-request notes (also `md`).
    Markdown,
    /// GitLab container-scanning report.
    Gitlab,
}

impl Format {
    const NAMES: &'static str = "console, json, sarif, junit, markdown, gitlab";
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "console" | "table" => Ok(Format::Console),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "junit" => Ok(Format::Junit),
            "markdown" | "md" => Ok(Format::Markdown),
            "gitlab" => Ok(Format::Gitlab),
            other => Err(format!(
                "unknown report format `{other}` (expected {})",
                Format::NAMES
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Console => "console",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Gitlab => "gitlab",
        })
    }
}

/// `-o FORMAT[=PATH]`: without a path the report goes to stdout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// `FORMAT`: which report to write.
    pub format: Format,
    /// `PATH`: where to write it; `None` is stdout.
    pub path: Option<PathBuf>,
}

impl FromStr for Output {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (format, path) = match s.split_once('=') {
            Some((f, p)) if p.trim().is_empty() => {
                return Err(format!("`{f}=` needs a path after `=`"))
            }
            Some((f, p)) => (f, Some(PathBuf::from(p))),
            None => (s, None),
        };
        Ok(Output {
            format: format.parse()?,
            path,
        })
    }
}

/// At most one report may go to stdout, or the two would interleave into neither format; no two
/// reports may go to one file, or they would truncate each other.
pub fn validate(outputs: &[Output]) -> Result<(), String> {
    let mut paths: Vec<(PathBuf, &Output)> = Vec::new();
    for output in outputs {
        let Some(path) = &output.path else { continue };
        let key = same_file_key(path);
        if let Some((_, other)) = paths.iter().find(|(k, _)| *k == key) {
            return Err(format!(
                "the {} and {} reports both go to {}: give each report its own path",
                other.format,
                output.format,
                path.display()
            ));
        }
        paths.push((key, output));
    }
    let to_stdout: Vec<String> = outputs
        .iter()
        .filter(|o| o.path.is_none())
        .map(|o| o.format.to_string())
        .collect();
    if to_stdout.len() > 1 {
        return Err(format!(
            "only one report can go to stdout, got {}: give the others a path (e.g. -o sarif=report.sarif)",
            to_stdout.join(" and ")
        ));
    }
    Ok(())
}

/// Opens (creating, not truncating) every report file, so a path that cannot be written is
/// found before the run does anything that cannot be undone.
pub fn check_writable(outputs: &[Output]) -> Result<(), String> {
    let problems: Vec<String> = outputs
        .iter()
        .filter_map(|o| {
            let path = o.path.as_ref()?;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .err()
                .map(|e| {
                    format!(
                        "cannot write {} report to {}: {e}",
                        o.format,
                        path.display()
                    )
                })
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// A path as the file system will resolve it (`./a` and `a` are one file), even before it exists.
fn same_file_key(path: &std::path::Path) -> PathBuf {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = parent.map_or_else(|| PathBuf::from("."), PathBuf::from);
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    match path.file_name() {
        Some(name) => dir.join(name),
        None => path.to_path_buf(),
    }
}

/// Rendering choices that are not part of the evaluation.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// ANSI colours in the console report.
    pub color: bool,
    /// `--sarif-location`: the file SARIF results point at.
    pub sarif_location: Option<String>,
    /// `wait` reports only scan status, not findings.
    pub include_findings: bool,
    /// Reports without a path go to stderr: stdout carries `--write-pinned -`.
    pub stdout_to_stderr: bool,
    /// `audit`: the console ends with one line per repository.
    pub by_repository: bool,
}

/// Writes every report. A report that cannot be written is an error, but the others are still
/// attempted so one bad path does not lose every upload.
pub fn write_all(eval: &Evaluation, outputs: &[Output], options: &Options) -> Result<(), String> {
    // Each report only reads the evaluation, so they are written side by side, by one scoped
    // thread per core, each taking every n-th report. On 100,000 findings no format adds more
    // than a few MB to the run's peak (JUnit, which built its whole document, now writes a
    // chunk of testcases at a time); one thread per core, not per report, keeps it so. The
    // calling thread is one of them: its allocator arena already holds the memory judging
    // freed.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, outputs.len().max(1));
    let share = |worker: usize| {
        outputs
            .iter()
            .enumerate()
            .skip(worker)
            .step_by(workers)
            .map(|(i, output)| (i, write_one(eval, output, options)))
            .collect::<Vec<_>>()
    };
    let panicked = |_| vec![(usize::MAX, Err("a report writer panicked".to_string()))];
    let mut results: Vec<(usize, Result<(), String>)> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..workers)
            .map(|worker| scope.spawn(move || share(worker)))
            .collect();
        let mut results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| share(0)))
            .unwrap_or_else(panicked);
        for other in others {
            results.extend(other.join().unwrap_or_else(panicked));
        }
        results
    });
    results.sort_by_key(|(i, _)| *i);
    let errors: Vec<String> = results.into_iter().filter_map(|(_, r)| r.err()).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

fn write_one(eval: &Evaluation, output: &Output, options: &Options) -> Result<(), String> {
    let result = match &output.path {
        None if options.stdout_to_stderr => {
            let mut lock = BufWriter::new(io::stderr().lock());
            render(eval, output.format, &mut lock, options).and_then(|()| lock.flush())
        }
        None => {
            let stdout = io::stdout();
            let mut lock = BufWriter::new(stdout.lock());
            render(eval, output.format, &mut lock, options).and_then(|()| lock.flush())
        }
        // Colour is for a terminal: a console report written to a file never gets escapes.
        Some(path) => File::create(path).and_then(|file| {
            let mut writer = BufWriter::with_capacity(256 * 1024, file);
            let plain = Options {
                color: false,
                ..options.clone()
            };
            render(eval, output.format, &mut writer, &plain).and_then(|()| writer.flush())
        }),
    };
    result.map_err(|e| {
        let target = output
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "stdout".into());
        format!("cannot write {} report to {target}: {e}", output.format)
    })
}

/// Generic over the writer so the streamed formats write into the buffer directly, not through
/// a virtual call per JSON token.
fn render(
    eval: &Evaluation,
    format: Format,
    out: &mut impl Write,
    options: &Options,
) -> io::Result<()> {
    match format {
        Format::Console if !options.include_findings => console::write_wait(eval, out),
        Format::Markdown if !options.include_findings => markdown::write_wait(eval, out),
        Format::Console => console::write(eval, out, options.color, options.by_repository),
        Format::Json => json::write(eval, out, options.include_findings),
        Format::Sarif => sarif::write(eval, out, options.sarif_location.as_deref()),
        Format::Junit => junit::write(eval, out),
        Format::Markdown => markdown::write(eval, out),
        Format::Gitlab => gitlab::write(eval, out, &crate::timestamp::now_to_the_second()),
    }
}

/// FNV-1a over the parts (each followed by a NUL so `ab`+`c` differs from `a`+`bc`): stable
/// across runs, builds and platforms, for ids that tools use to follow a finding over time.
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The risk signals of a finding in a few words (`KEV 2024-07-09, EPSS 0.9432, exploit`), for
/// the console and Markdown; empty when it has none.
pub fn risk_marks(j: &crate::evaluation::JudgedFinding) -> String {
    let mut marks = Vec::new();
    if let Some(kev) = j.kev {
        marks.push(format!("KEV {}", kev.date_added));
    }
    if let Some(epss) = j.epss {
        marks.push(format!("EPSS {:.4}", epss.probability));
    }
    if j.finding.exploit_available == Some(true) {
        marks.push("exploit".to_string());
    }
    marks.join(", ")
}

/// Findings `0..n` grouped by `id(i)`: `each` gets every group of equal ids, its indices in
/// order (so the first is where the id first appears). How SARIF's rules and JUnit's names
/// group findings: sorting 4-byte indices, where a map keyed by id takes about 30 bytes a
/// finding (a third of a report's peak on 100,000 findings).
fn group_by_id<'a>(
    n: usize,
    id: impl Fn(usize) -> &'a str,
    each: impl FnMut(&[u32]),
) -> io::Result<()> {
    let n = u32::try_from(n).map_err(|_| io::Error::other("too many findings for one report"))?;
    let mut order: Vec<u32> = (0..n).collect();
    // Stable: equal ids keep their order.
    order.sort_by(|&a, &b| id(a as usize).cmp(id(b as usize)));
    order
        .chunk_by(|&a, &b| id(a as usize) == id(b as usize))
        .for_each(each);
    Ok(())
}

/// Colour for console output on stdout: only on a terminal, never with NO_COLOR set.
pub fn stdout_supports_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_specs_parse() {
        assert_eq!(
            "json".parse::<Output>().unwrap(),
            Output {
                format: Format::Json,
                path: None
            }
        );
        assert_eq!(
            "SARIF=out/r.sarif".parse::<Output>().unwrap(),
            Output {
                format: Format::Sarif,
                path: Some(PathBuf::from("out/r.sarif"))
            }
        );
        assert!("xml".parse::<Output>().is_err());
        assert!("json=".parse::<Output>().is_err());
    }

    #[test]
    fn two_reports_to_one_file_are_refused() {
        let outputs: Vec<Output> = vec![
            "json=r.out".parse().unwrap(),
            "sarif=./r.out".parse().unwrap(),
        ];
        assert!(validate(&outputs).unwrap_err().contains("both go to"));
        let outputs: Vec<Output> = vec![
            "json=a.out".parse().unwrap(),
            "sarif=b.out".parse().unwrap(),
        ];
        assert!(validate(&outputs).is_ok());
    }

    #[test]
    fn two_reports_on_stdout_are_refused() {
        let outputs: Vec<Output> = vec!["json".parse().unwrap(), "sarif".parse().unwrap()];
        assert!(validate(&outputs).unwrap_err().contains("json and sarif"));
        let outputs: Vec<Output> = vec!["json".parse().unwrap(), "sarif=x".parse().unwrap()];
        assert!(validate(&outputs).is_ok());
    }
}
