//! Reads what `aws ecr describe-image-scan-findings --output json` prints (one response, an
//! array of page responses, or several files) into [`ScannedImage`]s. Basic `findings[]` and
//! Inspector `enhancedFindings[]` both become [`Finding`]s here; nothing after this module
//! knows which JSON shape they came from.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::ops::Range;
use std::path::Path;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::record::{BasicRecord, EnhancedRecord};
use super::status::{classify_answer, moved, Lists, Usability};
use super::{
    one_line, Finding, Findings, Image, ImageError, ScanInfo, ScanKind, ScannedImage, Source,
};

/// A saved input that cannot be read: always a usage error (exit 2), decided before judging.
/// Each is one line naming the file: text quoted from the input shows its line breaks as `\n`.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The input could not be opened or read.
    #[error("{path}: cannot read: {}", one_line(&.source.to_string()))]
    Io {
        /// The input as messages name it (`<stdin>` for `-`).
        path: String,
        /// Why reading failed.
        source: io::Error,
    },
    /// The input holds nothing at all.
    #[error("{path}: the file is empty: expected the JSON output of `aws ecr describe-image-scan-findings`")]
    Empty {
        /// The input as messages name it (`<stdin>` for `-`).
        path: String,
    },
    /// Valid JSON, but not a complete scan-findings response.
    #[error("{path}: {}", one_line(.message))]
    Shape {
        /// The input as messages name it (`<stdin>` for `-`).
        path: String,
        /// What is missing or inconsistent.
        message: String,
    },
    /// Not JSON, or not the JSON of a scan-findings response, at a known position.
    #[error("{path}:{line}:{column}: {}", one_line(.message))]
    Json {
        /// The input as messages name it (`<stdin>` for `-`).
        path: String,
        /// 1-based line of the error.
        line: usize,
        /// Column of the error on that line.
        column: usize,
        /// serde_json's message, without its own position.
        message: String,
    },
}

/// Reads every input (a path, or `-` for stdin) and merges pages that describe the same image.
/// Any one unreadable input fails the whole run: judging the rest would hide it.
pub fn read_inputs(inputs: &[String]) -> Result<Vec<ScannedImage>, InputError> {
    // The same file named twice would count its findings twice (and burn budgets twice).
    let mut unique: Vec<&String> = Vec::new();
    let mut repeated: Vec<String> = Vec::new();
    for input in inputs {
        let key = |i: &String| std::fs::canonicalize(i).ok();
        let seen = unique
            .iter()
            .any(|u| *u == input || (input != "-" && key(u).is_some() && key(u) == key(input)));
        if seen {
            repeated.push(input.clone());
        } else {
            unique.push(input);
        }
    }
    // Files are parsed in parallel; results and the first error keep the input order.
    let parsed: Vec<Result<(Pages, FileFindings), InputError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = unique
            .iter()
            // Each reader shares its files' repeated texts (package names, vectors, labels).
            .map(|input| scope.spawn(move || super::record::sharing(|| read_one(input))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("reader thread panicked"))
            })
            .collect()
    });
    let mut pages: Vec<ReadPage> = Vec::new();
    let mut files: Vec<FileFindings> = Vec::new();
    for (input, result) in unique.iter().zip(parsed) {
        let display = display_name(input);
        let (file_pages, findings) = result?;
        let file = files.len();
        files.push(findings);
        pages.extend(file_pages.0.into_iter().map(|p| (display.clone(), file, p)));
    }
    let mut images = merge(pages, &mut files)?;
    for input in repeated {
        let display = display_name(&input);
        for image in images
            .iter_mut()
            .filter(|i| matches!(&i.source, Source::File { files } if files.contains(&display)))
        {
            image.warnings.push(format!(
                "{display} was given more than once; it was read once"
            ));
        }
    }
    Ok(images)
}

fn display_name(input: &str) -> String {
    if input == "-" {
        "<stdin>".to_string()
    } else {
        input.to_string()
    }
}

/// Every finding of one file, in the file's order; each page holds the ranges of its own.
/// `Option` so an image's findings can be moved out page by page (it costs no space: a `Box`
/// has a niche).
type FileFindings = Vec<Option<Box<Finding>>>;

/// A page as read: the input it came from (as messages name it), which file's findings it
/// points into, and the page.
type ReadPage = (String, usize, RawPage);

thread_local! {
    /// The findings of the file this thread is parsing, filled by [`Converted`].
    static READ: RefCell<FileFindings> = const { RefCell::new(Vec::new()) };
}

fn read_one(input: &str) -> Result<(Pages, FileFindings), InputError> {
    let display = display_name(input);
    if input == "-" {
        return parse(io::stdin().lock(), &display);
    }
    let file = File::open(Path::new(input)).map_err(|source| InputError::Io {
        path: display.clone(),
        source,
    })?;
    parse(BufReader::with_capacity(256 * 1024, file), &display)
}

/// Parses one file. Its findings go into one vector for the whole file rather than one per
/// page: a page's vector grows by doubling and is copied once more when pages merge, and
/// with thousands of pages those copies were most of the reader's peak memory.
fn parse(reader: impl Read, path: &str) -> Result<(Pages, FileFindings), InputError> {
    READ.with_borrow_mut(Vec::clear);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let pages = Pages::deserialize(&mut de).and_then(|p| de.end().map(|()| p));
    let mut findings = READ.take();
    // The slack of the last doubling is kept until judging: give it back.
    findings.shrink_to_fit();
    let pages = pages.map(|p| (p, findings));
    pages.map_err(|err| {
        if err.is_eof() && err.line() == 1 && err.column() == 0 {
            return InputError::Empty {
                path: path.to_string(),
            };
        }
        if err.is_io() {
            return InputError::Io {
                path: path.to_string(),
                source: io::Error::other(err.to_string()),
            };
        }
        let mut message = strip_position(&err.to_string());
        if err.classify() == serde_json::error::Category::Data {
            message =
                format!("not the output of `aws ecr describe-image-scan-findings`: {message}");
        }
        InputError::Json {
            path: path.to_string(),
            line: err.line(),
            column: err.column(),
            message,
        }
    })
}

/// serde_json appends " at line L column C"; we print the position up front instead.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Groups pages by (registry, repository, digest) in input order and turns each group into
/// one image.
fn merge(
    pages: Vec<ReadPage>,
    files: &mut [FileFindings],
) -> Result<Vec<ScannedImage>, InputError> {
    let mut groups: Vec<(ImageKey, Vec<ReadPage>)> = Vec::new();
    for (path, file, page) in pages {
        let key = ImageKey::of(&page);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.push((path, file, page)),
            None => groups.push((key, vec![(path, file, page)])),
        }
    }
    groups
        .into_iter()
        .map(|(_, group)| {
            let findings = take_findings(&group, files);
            let group = group
                .into_iter()
                .map(|(path, _, page)| (path, page))
                .collect();
            image_from_pages(group, findings)
        })
        .collect()
}

/// An image's findings, page by page and on each page basic before enhanced. When they are a
/// whole file in order (one file per image, the usual case) that file's vector becomes the
/// image's without a copy.
fn take_findings(group: &[ReadPage], files: &mut [FileFindings]) -> Findings {
    let ranges = || {
        group.iter().flat_map(|(_, file, page)| {
            let lists = page.image_scan_findings.as_ref();
            let basic = lists.and_then(|f| f.findings.as_ref()).map(|c| c.0.clone());
            let enhanced = lists
                .and_then(|f| f.enhanced_findings.as_ref())
                .map(|c| c.0.clone());
            [basic, enhanced].into_iter().flatten().map(|r| (*file, r))
        })
    };
    let file = group[0].1;
    let mut next = 0;
    let whole = ranges().all(|(f, r)| {
        let in_order = f == file && r.start == next;
        next = r.end;
        in_order
    }) && next == files[file].len();
    if whole {
        // Collected in place (`map` keeps the allocation, `flatten` would not): an
        // `Option<Box<_>>` is as large as a `Box`. No other image has a finding of a file this
        // one covers, so none was taken.
        return std::mem::take(&mut files[file])
            .into_iter()
            .map(|f| f.expect("a file taken whole still holds every finding"))
            .collect();
    }
    let total = ranges().map(|(_, r)| r.len()).sum();
    let mut findings = Vec::with_capacity(total);
    // An empty range may point past a file whose findings another image took whole.
    for (f, r) in ranges().filter(|(_, r)| !r.is_empty()) {
        findings.extend(files[f][r].iter_mut().filter_map(Option::take));
    }
    findings
}

#[derive(PartialEq)]
struct ImageKey {
    registry: Option<String>,
    repository: String,
    image: Option<String>,
}

impl ImageKey {
    fn of(page: &RawPage) -> Self {
        ImageKey {
            registry: page.registry_id.clone(),
            repository: page.repository_name.clone(),
            image: page
                .image_id
                .image_digest
                .clone()
                .or_else(|| page.image_id.image_tag.clone()),
        }
    }
}

fn first_image_name(group: &[(String, RawPage)]) -> String {
    let page = &group[0].1;
    match &page.image_id.image_digest {
        Some(d) => format!("{}@{d}", page.repository_name),
        None => page.repository_name.clone(),
    }
}

fn image_from_pages(
    group: Vec<(String, RawPage)>,
    findings: Findings,
) -> Result<ScannedImage, InputError> {
    let mut files: Vec<String> = Vec::new();
    for (path, _) in &group {
        if !files.contains(path) {
            files.push(path.clone());
        }
    }
    let first = &group[0].1;
    let image = Image {
        repository: first.repository_name.clone(),
        registry_id: first.registry_id.clone(),
        region: None,
        tag: group.iter().find_map(|(_, p)| p.image_id.image_tag.clone()),
        digest: first.image_id.image_digest.clone(),
        platform: None,
        index_digest: None,
    };
    let source = Source::File { files };
    let broken = |path: &str, message: String| InputError::Shape {
        path: path.to_string(),
        message,
    };
    let mut status: Option<String> = None;
    for (path, page) in &group {
        let Some(this) = page.image_scan_status.status.clone() else {
            return Err(broken(
                path,
                "a page has no imageScanStatus.status: not a complete describe-image-scan-findings response".to_string(),
            ));
        };
        let Some(first) = &status else {
            status = Some(this);
            continue;
        };
        if let Some(other) = moved(first, &this) {
            return Err(broken(
                path,
                format!(
                    "pages of {} report different scan statuses ({first} and {other}): they were saved while the scan changed; save every page again",
                    first_image_name(&group)
                ),
            ));
        }
    }
    let status = status.unwrap_or_default();
    let description = first.image_scan_status.description.clone();
    let has_enhanced = group.iter().any(|(_, p)| {
        p.image_scan_findings
            .as_ref()
            .is_some_and(|f| f.enhanced_findings.is_some())
    });
    let completed_at = group.iter().find_map(|(_, p)| {
        p.image_scan_findings
            .as_ref()
            .and_then(|f| f.image_scan_completed_at.clone())
    });
    let scan = ScanInfo {
        kind: ScanKind::detect(has_enhanced, &status),
        status: status.clone(),
        description: description.clone(),
        completed_at: completed_at.map(|t| t.0),
    };
    let lists = Lists {
        basic: group.iter().any(|(_, p)| {
            p.image_scan_findings
                .as_ref()
                .is_some_and(|f| f.findings.is_some())
        }),
        enhanced: has_enhanced,
    };
    let unusable = match classify_answer(&status, description.as_deref(), lists) {
        Usability::Usable => None,
        Usability::Unusable(message) => Some(message),
        Usability::Pending => Some(format!(
            "scan status {status}: the scan had not finished when this response was saved; \
             save it again once it is COMPLETE"
        )),
        // A usable status with no findings list is a broken save, not a clean image.
        Usability::NoFindingsList => {
            let message = if group.iter().all(|(_, p)| p.image_scan_findings.is_none()) {
                format!("scan status {status} but no imageScanFindings: not a complete describe-image-scan-findings response")
            } else {
                format!(
                    "scan status {status} but imageScanFindings has neither findings nor enhancedFindings: not a clean image, \
                     an incomplete save (save the whole describe-image-scan-findings output)"
                )
            };
            return Err(InputError::Shape {
                path: group[0].0.clone(),
                message,
            });
        }
    };
    if let Some(message) = unusable {
        return Ok(ScannedImage::failed(
            image,
            source,
            Some(scan),
            ImageError::scan(message),
        ));
    }
    let old_cli = scan.kind == ScanKind::Enhanced && !has_enhanced;

    let missing_pages = group
        .last()
        .and_then(|(_, p)| p.next_token.as_ref())
        .is_some();
    let ecr_counts = group.iter().find_map(|(_, p)| {
        p.image_scan_findings
            .as_ref()
            .and_then(|f| f.finding_severity_counts.clone())
    });
    let mut scanned =
        ScannedImage::with_findings(image, source, scan, findings, ecr_counts.as_ref());
    if old_cli {
        scanned.warnings.push(
            "an enhanced (ACTIVE) scan saved without enhancedFindings: an AWS CLI older than 2.4 drops Inspector's \
             findings from its output; save it again with a current AWS CLI"
                .to_string(),
        );
    }
    if missing_pages {
        scanned.warnings.push(
            "the last saved page still carries a nextToken: pages are missing, so findings on them were not judged"
                .to_string(),
        );
    }
    Ok(scanned)
}

/// One file: a single response object or an array of them.
struct Pages(Vec<RawPage>);

impl<'de> Deserialize<'de> for Pages {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PagesVisitor;
        impl<'de> Visitor<'de> for PagesVisitor {
            type Value = Pages;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a describe-image-scan-findings response object or an array of them")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pages, A::Error> {
                let mut pages = Vec::new();
                while let Some(page) = seq.next_element::<RawPage>()? {
                    pages.push(page);
                }
                if pages.is_empty() {
                    return Err(de::Error::custom("the array holds no response pages"));
                }
                Ok(Pages(pages))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Pages, A::Error> {
                RawPage::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|p| Pages(vec![p]))
            }
        }
        deserializer.deserialize_any(PagesVisitor)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPage {
    registry_id: Option<String>,
    repository_name: String,
    image_id: RawImageId,
    image_scan_status: RawStatus,
    image_scan_findings: Option<RawScanFindings>,
    // `--max-items` output carries the token as `NextToken`.
    #[serde(alias = "NextToken")]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawImageId {
    image_digest: Option<String>,
    image_tag: Option<String>,
}

#[derive(Deserialize)]
struct RawStatus {
    status: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawScanFindings {
    image_scan_completed_at: Option<Timestamp>,
    #[allow(dead_code)] // validated so a corrupt file is rejected, not shown
    vulnerability_source_updated_at: Option<Timestamp>,
    finding_severity_counts: Option<BTreeMap<String, u64>>,
    findings: Option<Converted<BasicRecord>>,
    enhanced_findings: Option<Converted<EnhancedRecord>>,
}

/// A JSON array of finding records turned into [`Finding`]s one element at a time, so the raw
/// records of a large file are never all held at once. The findings go to the file's vector
/// ([`READ`]); the page keeps where they are in it.
struct Converted<R>(Range<usize>, std::marker::PhantomData<R>);

impl<'de, R: Deserialize<'de> + Into<Finding>> Deserialize<'de> for Converted<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SeqVisitor<R>(std::marker::PhantomData<R>);
        impl<'de, R: Deserialize<'de> + Into<Finding>> Visitor<'de> for SeqVisitor<R> {
            type Value = Converted<R>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of findings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let start = READ.with_borrow(Vec::len);
                while let Some(record) = seq.next_element::<R>()? {
                    let finding = Box::new(record.into());
                    READ.with_borrow_mut(|read| read.push(Some(finding)));
                }
                let end = READ.with_borrow(Vec::len);
                Ok(Converted(start..end, std::marker::PhantomData))
            }
        }
        deserializer.deserialize_seq(SeqVisitor(std::marker::PhantomData))
    }
}

/// A timestamp as the AWS CLI prints it (ISO-8601 string) or as the raw API / SDK gives it
/// (epoch seconds), normalised to RFC 3339 UTC.
#[derive(Clone)]
struct Timestamp(String);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TsVisitor;
        impl Visitor<'_> for TsVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an ISO-8601 timestamp string or epoch seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                crate::timestamp::parse_rfc3339(v)
                    .map(Timestamp)
                    .map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                crate::timestamp::from_epoch_seconds(v)
                    .map(Timestamp)
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                self.visit_f64(v as f64)
            }
        }
        deserializer.deserialize_any(TsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Fix;

    fn parse_str(text: &str) -> Result<Vec<ScannedImage>, InputError> {
        let (pages, findings) = parse(text.as_bytes(), "t.json")?;
        merge(
            pages
                .0
                .into_iter()
                .map(|p| ("t.json".to_string(), 0, p))
                .collect(),
            &mut [findings],
        )
    }

    const BASIC: &str = r#"{
      "registryId": "123456789012", "repositoryName": "app/web",
      "imageId": {"imageDigest": "sha256:aa", "imageTag": "v1"},
      "imageScanStatus": {"status": "COMPLETE", "description": "ok"},
      "imageScanFindings": {
        "imageScanCompletedAt": "2026-11-20T09:14:31-08:00",
        "findingSeverityCounts": {"HIGH": 1},
        "findings": [{"name": "CVE-2026-1", "severity": "HIGH", "uri": "https://x",
          "attributes": [{"key": "package_name", "value": "openssl"},
                         {"key": "package_version", "value": "3.0.1"},
                         {"key": "CVSS3_SCORE", "value": "7.5"}]}]
      }
    }"#;

    #[test]
    fn basic_response_maps_to_one_finding() {
        let images = parse_str(BASIC).unwrap();
        assert_eq!(images.len(), 1);
        let img = &images[0];
        assert_eq!(img.image.repository, "app/web");
        assert_eq!(
            img.scan.as_ref().unwrap().completed_at.as_deref(),
            Some("2026-11-20T17:14:31.000Z")
        );
        let f = &img.findings.as_ref().unwrap()[0];
        assert_eq!(f.packages[0].name, "openssl");
        assert_eq!(f.cvss.as_ref().unwrap().score, Some(7.5));
        assert_eq!(f.fix, Fix::Unknown);
        assert!(img.warnings.is_empty(), "{:?}", img.warnings);
    }

    #[test]
    fn epoch_timestamps_are_accepted() {
        let text = BASIC.replace("\"2026-11-20T09:14:31-08:00\"", "1763658871.5");
        let images = parse_str(&text).unwrap();
        assert_eq!(
            images[0].scan.as_ref().unwrap().completed_at.as_deref(),
            Some("2025-11-20T17:14:31.500Z")
        );
    }

    #[test]
    fn array_of_pages_merges_into_one_image() {
        let text = format!(
            "[{}, {}]",
            BASIC.replace(
                "\"imageScanFindings\"",
                "\"nextToken\": \"t\", \"imageScanFindings\""
            ),
            BASIC
        );
        let images = parse_str(&text).unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].findings.as_ref().unwrap().len(), 2);
        // both pages repeat the same counts; two HIGH read against one counted
        assert!(images[0].warnings.iter().any(|w| w.contains("count")));
    }

    #[test]
    fn last_page_with_next_token_warns_about_missing_pages() {
        let text = BASIC.replace(
            "\"imageScanFindings\"",
            "\"nextToken\": \"t\", \"imageScanFindings\"",
        );
        let images = parse_str(&text).unwrap();
        assert!(images[0].warnings.iter().any(|w| w.contains("nextToken")));
    }

    #[test]
    fn failed_status_is_a_scan_error() {
        let text = BASIC.replace("\"COMPLETE\"", "\"FAILED\"");
        let img = &parse_str(&text).unwrap()[0];
        assert!(matches!(img.findings, Err(ImageError::ScanUnusable(_))));
    }

    #[test]
    fn truncated_json_reports_line_and_column() {
        let err = parse_str(&BASIC[..200]).err().unwrap().to_string();
        assert!(err.starts_with("t.json:"), "{err}");
        assert!(err.contains("EOF"), "{err}");
    }

    // Issue 19 (found by the fuzz properties): a timestamp quoted with its line breaks split
    // the error over lines, and the second named no file.
    #[test]
    fn an_error_quoting_the_input_stays_one_line_naming_the_file() {
        let text = BASIC.replace("2026-11-20T09:14:31-08:00", "\\r\\n::warning::x");
        let err = parse_str(&text).err().unwrap().to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("t.json:") && err.contains("`\\r\\n::warning::x`"),
            "{err}"
        );
    }

    #[test]
    fn wrong_shape_names_the_missing_field() {
        let err = parse_str(r#"{"repositories": []}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("repositoryName") && err.starts_with("t.json:1:"),
            "{err}"
        );
        let err = parse_str("\"hello\"").err().unwrap().to_string();
        assert!(err.contains("response object"), "{err}");
    }

    #[test]
    fn a_usable_status_without_findings_is_not_a_clean_image() {
        let text =
            r#"{"repositoryName": "r", "imageId": {}, "imageScanStatus": {"status": "COMPLETE"}}"#;
        assert!(matches!(parse_str(text), Err(InputError::Shape { .. })));
    }

    #[test]
    fn empty_input_is_named() {
        assert!(matches!(parse_str(""), Err(InputError::Empty { .. })));
    }

    #[test]
    fn enhanced_finding_keeps_all_packages_and_fix_state() {
        let text = r#"{"repositoryName": "r", "imageId": {"imageDigest": "sha256:bb"},
          "imageScanStatus": {"status": "ACTIVE"},
          "imageScanFindings": {"enhancedFindings": [{
            "severity": "HIGH", "status": "ACTIVE", "title": "CVE-2026-2 - a", "fixAvailable": "PARTIAL",
            "exploitAvailable": "YES", "score": 8.1,
            "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2026-2",
              "vulnerablePackages": [{"name": "a", "version": "1.0", "release": "2", "fixedInVersion": "1.1"},
                                     {"name": "b", "version": "2.0", "epoch": 1, "fixedInVersion": "NotAvailable"}]}}]}}"#;
        let img = &parse_str(text).unwrap()[0];
        assert_eq!(img.scan.as_ref().unwrap().kind, ScanKind::Enhanced);
        let f = &img.findings.as_ref().unwrap()[0];
        assert_eq!(f.id(), "CVE-2026-2");
        assert_eq!(f.packages.len(), 2);
        assert_eq!(f.packages[0].version.as_deref(), Some("1.0-2"));
        assert_eq!(f.packages[0].fixed_in.as_deref(), Some("1.1"));
        assert_eq!(f.packages[1].version.as_deref(), Some("1:2.0"));
        assert_eq!(f.packages[1].fixed_in, None);
        assert_eq!(f.fix, Fix::Partial);
        assert_eq!(f.exploit_available, Some(true));
    }
}
