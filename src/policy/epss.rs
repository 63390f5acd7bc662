//! FIRST's EPSS daily scores (`epss_scores-YYYY-MM-DD.csv`, plain or gzip): the probability that
//! a CVE is exploited in the next 30 days, and its percentile. A `#model_version…,score_date…`
//! comment line, then `cve,epss,percentile`.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use time::Date;

use super::file::{read_input, ConfigError};
use crate::timestamp::parse_date;

/// One CVE's score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpssScore {
    /// Probability of exploitation in the next 30 days, 0 to 1.
    pub probability: f64,
    /// Where it ranks among all scored CVEs, 0 to 1.
    pub percentile: f64,
}

impl EpssScore {
    /// `0.4202 (97th percentile)`, as reasons and reports show a score.
    pub fn describe(&self) -> String {
        let rank = (self.percentile * 100.0).floor() as u32;
        let suffix = match (rank % 10, rank % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        format!("{:.4} ({rank}{suffix} percentile)", self.probability)
    }
}

/// A day's scores, keyed by CVE.
#[derive(Debug)]
pub struct Epss {
    /// The file as given, for messages.
    pub path: String,
    /// `score_date` from the comment line, for staleness and reasons.
    pub score_date: Option<Date>,
    /// `model_version` from the comment line.
    pub model: Option<String>,
    // CVE-YYYY-N packed as year << 32 | N: 300,000 rows without 300,000 strings. Scores stay
    // f64 parsed from the text, so reports print 0.42018, not its nearest f32.
    scores: HashMap<u64, EpssScore>,
}

fn cve_key(id: &str) -> Option<u64> {
    let rest = id
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("CVE-"))
        .and(id.get(4..))?;
    let (year, number) = rest.split_once('-')?;
    if year.len() != 4 || number.is_empty() || number.len() > 9 {
        return None;
    }
    let year: u64 = year.parse().ok()?;
    let number: u64 = number.parse().ok()?;
    Some(year << 32 | number)
}

impl Epss {
    /// Reads and checks a scores file, gunzipping it when it is gzip.
    pub fn load(path: &Path) -> Result<Epss, ConfigError> {
        let bytes = read_input(path, "the EPSS scores")?;
        Epss::parse(bytes, &path.display().to_string())
    }

    /// Parses scores, plain or gzip; `path` is only for messages.
    pub fn parse(bytes: Vec<u8>, path: &str) -> Result<Epss, ConfigError> {
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut text = String::with_capacity(bytes.len() * 4);
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .map_err(|e| {
                    ConfigError::whole(path, format!("cannot gunzip the EPSS scores: {e}"))
                })?;
            text
        } else {
            String::from_utf8(bytes).map_err(|_| {
                ConfigError::whole(path, "not FIRST's EPSS CSV: the file is not text")
            })?
        };
        // Spreadsheet tools save a byte-order mark in front; it is not part of the data.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        let problem = |line: usize, column: usize, message: String| ConfigError {
            path: path.to_string(),
            problems: vec![super::file::Problem {
                line,
                column,
                message,
            }],
        };
        let mut epss = Epss {
            path: path.to_string(),
            score_date: None,
            model: None,
            scores: HashMap::with_capacity(text.len() / 32),
        };
        // FIRST writes `#model_version:…,score_date:…` on the first line; the csv reader skips
        // comment lines, so that one is read here.
        let (comment, body, skipped) = match text.strip_prefix('#') {
            Some(rest) => {
                let (comment, body) = rest.split_once('\n').unwrap_or((rest, ""));
                (Some(comment.trim_end_matches('\r')), body, 1)
            }
            None => (None, text.as_str(), 0),
        };
        for part in comment.into_iter().flat_map(|c| c.split(',')) {
            match part.split_once(':') {
                Some(("score_date", date)) => {
                    epss.score_date = Some(
                        parse_date(date).map_err(|e| problem(1, 1, format!("score_date {e}")))?,
                    );
                }
                Some(("model_version", model)) => epss.model = Some(model.trim().to_string()),
                _ => {}
            }
        }
        let mut rows = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(body.as_bytes());
        let mut header = false;
        let mut record = csv::StringRecord::new();
        loop {
            let more = rows.read_record(&mut record).map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() as usize) + skipped;
                problem(line, 1, format!("not FIRST's EPSS CSV: {e}"))
            })?;
            if !more {
                break;
            }
            let n = record.position().map_or(0, |p| p.line() as usize) + skipped;
            let fields: Vec<&str> = record.iter().collect();
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if !header {
                let names: Vec<String> = fields
                    .iter()
                    .map(|f| f.trim().to_ascii_lowercase())
                    .collect();
                if names != ["cve", "epss", "percentile"] {
                    return Err(problem(
                        n,
                        1,
                        format!("not FIRST's EPSS CSV: expected the header `cve,epss,percentile`, found `{}`", cut(&fields.join(","))),
                    ));
                }
                header = true;
                continue;
            }
            let [cve, probability, percentile] = fields[..] else {
                return Err(problem(
                    n,
                    1,
                    format!(
                        "expected cve,epss,percentile, found `{}`",
                        cut(&fields.join(","))
                    ),
                ));
            };
            let key = cve_key(cve.trim())
                .ok_or_else(|| problem(n, 1, format!("`{}` is not a CVE id", cut(cve))))?;
            let number = |text: &str, column: usize, what: &str| {
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| {
                        problem(
                            n,
                            column,
                            format!("{what} `{}` is not a number from 0 to 1", cut(text)),
                        )
                    })
            };
            let score = EpssScore {
                probability: number(probability, cve.len() + 2, "epss")?,
                percentile: number(percentile, cve.len() + probability.len() + 3, "percentile")?,
            };
            epss.scores.insert(key, score);
        }
        if !header {
            return Err(ConfigError::whole(
                path,
                "not FIRST's EPSS CSV: no `cve,epss,percentile` header (the file is empty)",
            ));
        }
        Ok(epss)
    }

    /// The score of a CVE id; `None` for other ids and unscored CVEs.
    pub fn get(&self, id: &str) -> Option<EpssScore> {
        self.scores.get(&cve_key(id)?).copied()
    }

    /// How many CVEs are scored.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether no CVE is scored.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
}

/// Untrusted text quoted in a message stays short.
fn cut(text: &str) -> String {
    super::file::shorten(text, 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use time::macros::date;

    const CSV: &str = "#model_version:v2025.03.14,score_date:2026-12-01T12:55:00Z\n\
                       cve,epss,percentile\n\
                       CVE-1999-0001,0.01141,0.78032\n\
                       CVE-2024-3400,0.94321,0.99951\n";

    #[test]
    fn plain_and_gzip_read_alike() {
        let plain = Epss::parse(CSV.as_bytes().to_vec(), "e.csv").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(CSV.as_bytes()).unwrap();
        let gzip = Epss::parse(gz.finish().unwrap(), "e.csv.gz").unwrap();
        for epss in [plain, gzip] {
            assert_eq!(epss.score_date, Some(date!(2026 - 12 - 01)));
            assert_eq!(epss.model.as_deref(), Some("v2025.03.14"));
            assert_eq!(epss.len(), 2);
            let s = epss.get("cve-2024-3400").unwrap();
            assert_eq!((s.probability, s.percentile), (0.94321, 0.99951));
            assert_eq!(epss.get("GHSA-xxxx-yyyy-zzzz"), None);
            assert_eq!(epss.get("CVE-2024-3401"), None);
        }
    }

    #[test]
    fn a_score_reads_with_its_ordinal_percentile() {
        let score = |p, percentile| {
            EpssScore {
                probability: p,
                percentile,
            }
            .describe()
        };
        assert_eq!(score(0.42018, 0.97394), "0.4202 (97th percentile)");
        assert_eq!(score(0.1, 0.213), "0.1000 (21st percentile)");
        assert_eq!(score(0.1, 0.12), "0.1000 (12th percentile)");
        assert_eq!(score(0.1, 0.03), "0.1000 (3rd percentile)");
        assert_eq!(score(0.9, 0.999), "0.9000 (99th percentile)");
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let bad = format!("{CSV}CVE-2024-1,1.5,0.3\n");
        let err = Epss::parse(bad.into_bytes(), "e.csv").unwrap_err();
        assert!(
            err.to_string().starts_with("e.csv:5:12: epss `1.5`"),
            "{err}"
        );
        let err = Epss::parse(b"cve,score\n".to_vec(), "e.csv").unwrap_err();
        assert!(err.to_string().contains("cve,epss,percentile"), "{err}");
        let err = Epss::parse(b"".to_vec(), "e.csv").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let err = Epss::parse(vec![0x1f, 0x8b, 0, 1, 2], "e.csv.gz").unwrap_err();
        assert!(err.to_string().contains("gunzip"), "{err}");
        let err = Epss::parse(
            b"cve,epss,percentile\nnot-a-cve,0.1,0.2\n".to_vec(),
            "e.csv",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("e.csv:2:1:"), "{err}");
    }
}
