//! The one finding model every scan type is normalised into, plus the scan metadata that
//! travels with it. Readers for saved JSON live in [`saved`]; the live ECR reader (in
//! `crate::ecr`) produces the same [`ScannedImage`], so policy and reports never see where
//! findings came from.

pub mod record;
pub mod saved;
pub mod status;

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

use crate::exit::Outcome;

/// Severity ordered from least to most severe, so `>=` means "at least as bad".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No severity given: ECR writes `UNDEFINED`, Inspector `UNTRIAGED`.
    Unknown,
    /// `INFORMATIONAL`: not a vulnerability on its own.
    Informational,
    /// `LOW`: passes the default policy.
    Low,
    /// `MEDIUM`: passes the default policy.
    Medium,
    /// `HIGH`: the default `fail-on`.
    High,
    /// `CRITICAL`: the most severe; labels this version does not know rank here too.
    Critical,
}

impl Severity {
    /// Most severe first: the order reports list severities in.
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
        Severity::Unknown,
    ];

    /// The lowercase name used in reports, flags and the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Reads a severity as ECR or Inspector writes it. `None` means a value this version does
    /// not know; callers rank it as critical (see [`Finding::from_label`]).
    pub fn from_ecr(label: &str) -> Option<Severity> {
        label.parse().ok()
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" => Ok(Severity::Critical),
            "high" => Ok(Severity::High),
            "medium" => Ok(Severity::Medium),
            "low" => Ok(Severity::Low),
            "informational" | "info" => Ok(Severity::Informational),
            // ECR basic scans say UNDEFINED, Inspector says UNTRIAGED.
            "unknown" | "undefined" | "untriaged" => Ok(Severity::Unknown),
            _ => Err(format!(
                "unknown severity `{s}` (expected critical, high, medium, low, informational or unknown)"
            )),
        }
    }
}

/// Whether a fix exists. Basic scans carry no fix information at all, which is not the same
/// as "no fix": `ignore-unfixed` must never hide a finding whose fix state is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fix {
    /// Inspector's `fixAvailable` is `YES`: every affected package has a fix.
    Yes,
    /// `PARTIAL`: only some packages have a fix, so `ignore-unfixed` does not apply.
    Partial,
    /// `NO`: no fix yet; the only state `ignore-unfixed` hides.
    No,
    /// Not stated (basic scans), or a value this version does not know.
    Unknown,
}

impl Fix {
    /// Reads Inspector's `fixAvailable`; anything else, or nothing, is `Unknown`.
    pub fn from_ecr(value: Option<&str>) -> Fix {
        match value.map(|v| v.to_ascii_uppercase()) {
            Some(v) if v == "YES" => Fix::Yes,
            Some(v) if v == "PARTIAL" => Fix::Partial,
            Some(v) if v == "NO" => Fix::No,
            _ => Fix::Unknown,
        }
    }

    /// `None` for `Unknown`, so reports leave out what nobody said.
    pub fn known(self) -> Option<Fix> {
        (self != Fix::Unknown).then_some(self)
    }
}

/// Amazon Inspector's own finding status (enhanced scans only; basic findings are `Active`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    /// Open: judged by the policy.
    Active,
    /// Suppressed by an Inspector rule: allowed, with that as the reason.
    Suppressed,
    /// Closed by Inspector: counted, never judged.
    Closed,
}

/// Text that many findings repeat (package names and versions, CVSS vectors, severity
/// labels), shared rather than copied: the saved-JSON reader hands out one copy per distinct
/// value (see [`record::sharing`]), so 100,000 findings of a few hundred packages hold each
/// name once. It reads as a `str`; it is 16 bytes where a `String` is 24.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(s.into())
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(s.into())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// An image's findings, each boxed once by the reader that made it. Judging moves every finding
/// into its judged record: were they unboxed, the list read and the list judged would both
/// hold every 120-byte finding at once (12 MB more at the peak of 100,000 findings). Sorting
/// moves pointers too.
#[allow(
    clippy::vec_box,
    reason = "the box is what lets judging move a finding for 8 bytes"
)]
pub type Findings = Vec<Box<Finding>>;

/// One affected package of a finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Package {
    /// The package name as the scanner reports it.
    pub name: Text,
    /// The installed version (with Inspector's epoch and release), if known.
    pub version: Option<Text>,
    /// The first fixed version; `None` when unknown or a placeholder such as `NotAvailable`.
    pub fixed_in: Option<Text>,
}

/// The CVSS score and vector the scanner gave (basic scans: CVSS 3 over CVSS 2).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cvss {
    /// Base score from 0 to 10; `None` when the scanner gave none.
    pub score: Option<f64>,
    /// The vector string, e.g. `CVSS:3.1/AV:N/...`.
    pub vector: Option<Text>,
}

/// A finding's own texts (id, title, description and link) in one allocation. Unlike package
/// names they are rarely repeated, and as four allocations each would carry its own allocator
/// header and rounding: about 50 bytes a finding, 5 MB of 100,000 (issue 19).
#[derive(Clone, PartialEq, Eq)]
pub struct Texts {
    /// The four texts one after another.
    all: Box<str>,
    /// Where the title, description and link start; each text ends where the next starts.
    starts: [u32; 3],
    /// Which of title, description and link were given (bits 0, 1, 2): a given text may be
    /// empty, and reports tell the two apart.
    given: u8,
}

impl Texts {
    /// The id, then the title, description and link, each when given. A finding whose texts
    /// reach 4 GiB (the offsets are 32 bits) keeps what fits below that, cut at a character.
    pub fn new(
        id: &str,
        title: Option<&str>,
        description: Option<&str>,
        url: Option<&str>,
    ) -> Self {
        let parts = [title, description, url];
        let mut all = String::with_capacity(
            id.len() + parts.iter().flatten().map(|p| p.len()).sum::<usize>(),
        );
        let push = |all: &mut String, text: &str| {
            let room = (u32::MAX as usize).saturating_sub(all.len());
            let mut end = text.len().min(room);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            all.push_str(&text[..end]);
        };
        push(&mut all, id);
        let mut starts = [0; 3];
        let mut given = 0;
        for (i, part) in parts.into_iter().enumerate() {
            // `all` never grows past u32::MAX bytes (`push` stops there), so this is exact.
            starts[i] = all.len() as u32;
            if let Some(text) = part {
                given |= 1 << i;
                push(&mut all, text);
            }
        }
        Texts {
            all: all.into_boxed_str(),
            starts,
            given,
        }
    }

    fn id(&self) -> &str {
        &self.all[..self.starts[0] as usize]
    }

    /// Text `i` of title, description and link, when given.
    fn part(&self, i: usize) -> Option<&str> {
        let end = self
            .starts
            .get(i + 1)
            .map_or(self.all.len(), |&e| e as usize);
        (self.given & (1 << i) != 0).then(|| &self.all[self.starts[i] as usize..end])
    }
}

impl fmt::Debug for Texts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Texts")
            .field("id", &self.id())
            .field("title", &self.part(0))
            .field("description", &self.part(1))
            .field("url", &self.part(2))
            .finish()
    }
}

/// One ECR finding. An enhanced finding that names several packages stays one finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The vulnerability id, title, description and link: see [`Finding::id`] and the others.
    pub texts: Texts,
    /// Other ids of the same vulnerability (Inspector's `relatedVulnerabilities`): an allow
    /// entry or VEX statement naming one matches too, and KEV/EPSS are looked up by them.
    pub aliases: Box<[Box<str>]>,
    /// The severity judged; a label this version does not know ranks as critical.
    pub severity: Severity,
    /// The severity exactly as ECR wrote it, kept to warn about values we do not know.
    pub severity_label: Text,
    /// Affected packages; empty when the scanner named none.
    pub packages: Box<[Package]>,
    /// Whether a fix exists, for `ignore-unfixed`.
    pub fix: Fix,
    /// Inspector's `exploitAvailable`; `None` for basic scans.
    pub exploit_available: Option<bool>,
    /// CVSS score and vector, when the scanner gave any.
    pub cvss: Option<Cvss>,
    /// Inspector's status: closed findings are not judged, suppressed ones are allowed.
    pub status: FindingStatus,
}

impl Finding {
    /// The vulnerability id (CVE, GHSA, ALAS, ...): what the allowlist matches.
    pub fn id(&self) -> &str {
        self.texts.id()
    }

    /// Inspector's title; basic findings have none.
    pub fn title(&self) -> Option<&str> {
        self.texts.part(0)
    }

    /// The scanner's description of the vulnerability.
    pub fn description(&self) -> Option<&str> {
        self.texts.part(1)
    }

    /// The advisory link, when the scanner gave one.
    pub fn url(&self) -> Option<&str> {
        self.texts.part(2)
    }

    /// Severity from ECR's label; a label this version does not know ranks as critical, so a
    /// new value AWS adds can never slip through a gate.
    pub fn severity_from_label(label: &str) -> Severity {
        Severity::from_ecr(label).unwrap_or(Severity::Critical)
    }

    /// Whether ECR's label is one this version knows; reports warn when it is not.
    pub fn is_recognised_severity(&self) -> bool {
        Severity::from_ecr(&self.severity_label).is_some()
    }

    /// Each package's name, in the scanner's order.
    pub fn package_names(&self) -> impl Iterator<Item = &str> {
        self.packages.iter().map(|p| p.name.as_str())
    }

    /// Every package name, comma-separated, for one-line displays.
    pub fn package_list(&self) -> String {
        self.package_names().collect::<Vec<_>>().join(", ")
    }

    /// Every package with its installed version (`openssl 3.0.11-1, zlib 1.2.13`).
    pub fn packages_with_versions(&self) -> String {
        let mut out = String::with_capacity(self.packages.len() * 32);
        for (i, p) in self.packages.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&p.name);
            match p.version.as_deref().map(str::trim_end) {
                Some(v) if !v.is_empty() => {
                    out.push(' ');
                    out.push_str(v);
                }
                _ => {}
            }
        }
        out
    }

    /// The installed version of the first package (they rarely differ within a finding).
    pub fn version(&self) -> &str {
        self.packages
            .first()
            .and_then(|p| p.version.as_deref())
            .unwrap_or("")
    }

    /// Each package with a known fix, and the version that fixes it.
    pub fn fixes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.packages
            .iter()
            .filter_map(|p| Some((p.name.as_str(), p.fixed_in.as_deref()?)))
    }

    /// The id, then every alias.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id()).chain(self.aliases.iter().map(|a| &**a))
    }

    /// Every known fixed-in version, comma-separated.
    pub fn fixed_in(&self) -> String {
        self.fixes().map(|(_, v)| v).collect::<Vec<_>>().join(", ")
    }
}

/// `\n` and `\r` in a message written as those two characters, so an error quoting input text
/// stays one line that names its file: shared by the saved-JSON reader and the policy file
/// (both below `report`, where the other text escaping lives).
pub fn one_line(message: &str) -> std::borrow::Cow<'_, str> {
    if message.contains(['\n', '\r']) {
        message.replace('\n', "\\n").replace('\r', "\\r").into()
    } else {
        message.into()
    }
}

/// Inspector writes placeholders such as `NotAvailable` where a fixed-in version would be.
pub fn is_version(value: &str) -> bool {
    let v = value.trim();
    !v.is_empty()
        && !["notavailable", "not available", "n/a", "none", "null"]
            .contains(&v.to_ascii_lowercase().as_str())
}

/// Basic scanning (ECR's own) or enhanced scanning (Amazon Inspector).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanKind {
    /// ECR basic scanning: `findings[]`, with no fix information.
    Basic,
    /// Inspector enhanced scanning: `enhancedFindings[]`, with fixes and finding status.
    Enhanced,
}

impl ScanKind {
    /// Only enhanced responses carry `enhancedFindings`; ACTIVE (continuous scanning) is
    /// enhanced even while it has none.
    pub fn detect(has_enhanced_findings: bool, status: &str) -> ScanKind {
        if has_enhanced_findings || status == "ACTIVE" {
            ScanKind::Enhanced
        } else {
            ScanKind::Basic
        }
    }
}

/// The scan behind the findings, as ECR describes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScanInfo {
    /// Basic or enhanced; serialised as `type`.
    #[serde(rename = "type")]
    pub kind: ScanKind,
    /// ECR's `imageScanStatus.status` as written (`COMPLETE`, `ACTIVE`, ...).
    pub status: String,
    /// ECR's `imageScanStatus.description`, which often explains a failure.
    pub description: Option<String>,
    /// RFC 3339, UTC.
    pub completed_at: Option<String>,
}

/// The image a result is about (after [`crate::image_ref`] parsed what the user wrote, and
/// before or after resolving). Tag and digest are both kept: the tag is what the user asked
/// for, the digest is what was judged.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Image {
    /// The repository name, without the registry host.
    pub repository: String,
    /// The registry (account) id, when known.
    pub registry_id: Option<String>,
    /// The AWS region, when known.
    pub region: Option<String>,
    /// The tag the user asked for, if any.
    pub tag: Option<String>,
    /// The manifest digest judged (`sha256:...`).
    pub digest: Option<String>,
    /// `os/architecture[/variant]` of one image of a multi-arch index.
    pub platform: Option<String>,
    /// The digest of the multi-arch index this image belongs to.
    pub index_digest: Option<String>,
}

impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        if let Some(platform) = &self.platform {
            write!(f, " ({platform})")?;
        }
        Ok(())
    }
}

/// Where the findings of an image were read from (the only part of a report that differs
/// between `check` and `evaluate` on the same findings).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// Saved JSON, read by `evaluate`.
    File {
        /// The inputs the pages came from (`<stdin>` for `-`).
        files: Vec<String>,
    },
    /// Live from ECR, read by `check` or `wait`.
    Ecr {
        /// The reference as the user wrote it.
        reference: String,
        /// Every place `--images-from` files name it (empty for a reference on the command
        /// line); the report lists them as the image's `sources`.
        #[serde(skip)]
        placements: Vec<crate::deploy::plan::Placement>,
    },
}

impl Source {
    /// The places deployment files name this image.
    pub fn placements(&self) -> &[crate::deploy::plan::Placement] {
        match self {
            Source::Ecr { placements, .. } => placements,
            Source::File { .. } => &[],
        }
    }
}

/// Why an image could not be judged; each kind knows its exit code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The scan is not usable (failed, unsupported, timed out, not found): exit 3.
    #[error("{0}")]
    ScanUnusable(String),
    /// AWS could not be asked or answered wrongly: exit 4.
    #[error("{0}")]
    Aws(String),
}

impl ImageError {
    /// A scan-unusable error (exit 3).
    pub fn scan(message: impl Into<String>) -> Self {
        ImageError::ScanUnusable(message.into())
    }

    /// An AWS error (exit 4).
    pub fn aws(message: impl Into<String>) -> Self {
        ImageError::Aws(message.into())
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        match self {
            ImageError::ScanUnusable(m) | ImageError::Aws(m) => m,
        }
    }

    /// The name reports give the kind: `scan` or `aws`.
    pub fn kind(&self) -> &'static str {
        match self {
            ImageError::ScanUnusable(_) => "scan",
            ImageError::Aws(_) => "aws",
        }
    }

    /// The outcome this error gives its image.
    pub fn outcome(&self) -> Outcome {
        match self {
            ImageError::ScanUnusable(_) => Outcome::ScanUnusable,
            ImageError::Aws(_) => Outcome::AwsError,
        }
    }

    /// The exit code this error alone would give the run (3 or 4).
    pub fn exit_code(&self) -> u8 {
        self.outcome().code()
    }
}

/// `{"kind": "scan"|"aws", "message": …}`, as the JSON report documents it.
impl Serialize for ImageError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("ImageError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", self.message())?;
        s.end()
    }
}

/// Everything known about one image before the policy looks at it.
#[derive(Clone, Debug)]
pub struct ScannedImage {
    /// The image, resolved as far as it got.
    pub image: Image,
    /// Where its findings were read from.
    pub source: Source,
    /// The scan, when one was seen.
    pub scan: Option<ScanInfo>,
    /// Every finding read, or why the image cannot be judged: never both.
    pub findings: Result<Findings, ImageError>,
    /// Warnings about the input itself (counts, unknown severities, missing pages).
    pub warnings: Vec<String>,
    /// Severities where ECR's `findingSeverityCounts` say more than was read: the policy
    /// decides whether the missing findings could have changed the verdict.
    pub shortfalls: Vec<Shortfall>,
}

/// ECR counts more findings of one severity than were read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortfall {
    /// The severity the missing findings have (an unrecognised label ranks as critical).
    pub severity: Severity,
    /// The label as ECR counts it, e.g. `CRITICAL`.
    pub label: String,
    /// How many of that severity were read.
    pub read: u64,
    /// How many ECR counts.
    pub counted: u64,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.counted - self.read, self.label)
    }
}

impl ScannedImage {
    /// An image whose findings were read; checks them against ECR's own per-severity counts so
    /// a partial read or a reader bug is visible in every report.
    pub fn with_findings(
        image: Image,
        source: Source,
        scan: ScanInfo,
        findings: Vec<impl Into<Box<Finding>>>,
        ecr_counts: Option<&BTreeMap<String, u64>>,
    ) -> Self {
        // In place when they are boxed already.
        let findings: Findings = findings.into_iter().map(Into::into).collect();
        let mut warnings = Vec::new();
        for finding in findings.iter().filter(|f| !f.is_recognised_severity()) {
            warnings.push(format!(
                "unrecognised severity `{}` on {}: ranked as critical",
                finding.severity_label,
                finding.id()
            ));
        }
        let mut shortfalls = Vec::new();
        if let Some(expected) = ecr_counts {
            let (warning, short) = compare_counts(&findings, expected);
            warnings.extend(warning);
            shortfalls = short;
        }
        ScannedImage {
            image,
            source,
            scan: Some(scan),
            findings: Ok(findings),
            warnings,
            shortfalls,
        }
    }

    /// An image that could not be judged.
    pub fn failed(image: Image, source: Source, scan: Option<ScanInfo>, error: ImageError) -> Self {
        ScannedImage {
            image,
            source,
            scan,
            findings: Err(error),
            warnings: Vec::new(),
            shortfalls: Vec::new(),
        }
    }
}

/// ECR's `findingSeverityCounts` against the findings we actually hold: a warning naming every
/// difference, and the severities where ECR counts more. Keys are folded the same way on both
/// sides (UNDEFINED and UNTRIAGED are one "unknown").
fn compare_counts<F: Borrow<Finding>>(
    findings: &[F],
    expected: &BTreeMap<String, u64>,
) -> (Option<String>, Vec<Shortfall>) {
    let key = |label: &str| match Severity::from_ecr(label) {
        Some(sev) => sev.as_str().to_string(),
        None => label.to_ascii_lowercase(),
    };
    let mut ours: BTreeMap<String, u64> = BTreeMap::new();
    for finding in findings {
        *ours
            .entry(key(&finding.borrow().severity_label))
            .or_default() += 1;
    }
    let mut theirs: BTreeMap<String, u64> = BTreeMap::new();
    for (label, n) in expected {
        // Saturating: `HIGH` and `high` beside each other could sum past u64, and a count that
        // wrapped to nothing would hide the very findings it counts.
        let total = theirs.entry(key(label)).or_default();
        *total = total.saturating_add(*n);
    }
    theirs.retain(|_, n| *n > 0);
    if ours == theirs {
        return (None, Vec::new());
    }
    let shortfalls = theirs
        .iter()
        .filter(|(k, n)| ours.get(*k).unwrap_or(&0) < n)
        .map(|(k, n)| Shortfall {
            severity: Finding::severity_from_label(k),
            label: k.to_ascii_uppercase(),
            read: *ours.get(k).unwrap_or(&0),
            counted: *n,
        })
        .collect();
    let keys: std::collections::BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    let diffs: Vec<String> = keys
        .into_iter()
        .filter(|k| ours.get(*k) != theirs.get(*k))
        .map(|k| {
            format!(
                "{k}: {} read, {} in findingSeverityCounts",
                ours.get(k).unwrap_or(&0),
                theirs.get(k).unwrap_or(&0)
            )
        })
        .collect();
    let warning = format!(
        "finding count differs from ECR's findingSeverityCounts ({}); some findings may be missing",
        diffs.join("; ")
    );
    (Some(warning), shortfalls)
}

/// A COMPLETE scan of `repository` read from a file, with no ECR counts, for tests across the
/// crate.
#[cfg(test)]
pub(crate) fn test_image(repository: &str, kind: ScanKind, findings: Vec<Finding>) -> ScannedImage {
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

/// A finding with only an id and a severity label, for tests across the crate.
#[cfg(test)]
pub(crate) fn test_finding(id: &str, label: &str) -> Finding {
    Finding {
        texts: Texts::new(id, None, None, None),
        severity: Finding::severity_from_label(label),
        severity_label: label.into(),
        aliases: Box::default(),
        packages: Box::default(),
        fix: Fix::Unknown,
        exploit_available: None,
        cvss: None,
        status: FindingStatus::Active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, label: &str) -> Finding {
        test_finding(id, label)
    }

    #[test]
    fn texts_keep_each_part_and_tell_an_empty_one_from_one_not_given() {
        let with = |texts| Finding {
            texts,
            ..finding("unused", "HIGH")
        };
        let f = with(Texts::new(
            "CVE-1",
            None,
            Some(""),
            Some("https://é.example/ü"),
        ));
        assert_eq!(
            (f.id(), f.title(), f.description(), f.url()),
            ("CVE-1", None, Some(""), Some("https://é.example/ü"))
        );
        let f = with(Texts::new("", Some("日本 - x"), None, None));
        assert_eq!(
            (f.id(), f.title(), f.description(), f.url()),
            ("", Some("日本 - x"), None, None)
        );
    }

    /// Every finding of a scan is held until its reports are written: 100,000 of them must fit
    /// the memory bar of issue 19, and this size is most of it.
    #[test]
    fn a_finding_stays_within_120_bytes() {
        assert!(
            std::mem::size_of::<Finding>() <= 120,
            "{}",
            std::mem::size_of::<Finding>()
        );
    }

    #[test]
    fn package_summaries_join_names_versions_and_fixes() {
        let mut f = finding("CVE-1", "HIGH");
        assert_eq!(f.packages_with_versions(), "");
        let package = |name: &str, version: Option<&str>, fixed_in: Option<&str>| Package {
            name: name.into(),
            version: version.map(Into::into),
            fixed_in: fixed_in.map(Into::into),
        };
        f.packages = [
            package("openssl", Some("3.0.11-1"), Some("3.0.13-1")),
            package("zlib", None, None),
            package("curl", Some(""), Some("8.5.0")),
        ]
        .into();
        assert_eq!(f.packages_with_versions(), "openssl 3.0.11-1, zlib, curl");
        assert_eq!(f.package_list(), "openssl, zlib, curl");
        assert_eq!(f.fixed_in(), "3.0.13-1, 8.5.0");
        assert_eq!(f.version(), "3.0.11-1");
    }

    #[test]
    fn severity_order_puts_unknown_lowest_and_critical_highest() {
        assert!(Severity::Unknown < Severity::Informational);
        assert!(Severity::Informational < Severity::Low);
        assert!(Severity::High < Severity::Critical);
    }

    #[test]
    fn severity_parses_case_insensitively_and_folds_aws_unknowns() {
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert_eq!("Critical".parse::<Severity>(), Ok(Severity::Critical));
        assert_eq!("UNDEFINED".parse::<Severity>(), Ok(Severity::Unknown));
        assert_eq!("UNTRIAGED".parse::<Severity>(), Ok(Severity::Unknown));
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn unrecognised_severity_ranks_critical_with_a_warning() {
        let f = finding("CVE-1", "SEVERE");
        assert_eq!(f.severity, Severity::Critical);
        let img = test_image("", ScanKind::Basic, vec![f]);
        assert!(img.warnings[0].contains("SEVERE"), "{:?}", img.warnings);
    }

    #[test]
    fn counts_that_match_give_no_warning() {
        let findings = vec![finding("a", "HIGH"), finding("b", "UNDEFINED")];
        let expected = BTreeMap::from([
            ("HIGH".to_string(), 1),
            ("UNTRIAGED".to_string(), 1),
            ("LOW".to_string(), 0),
        ]);
        assert_eq!(compare_counts(&findings, &expected), (None, vec![]));
    }

    #[test]
    fn counts_that_differ_name_the_severity() {
        let findings = vec![finding("a", "HIGH")];
        let expected = BTreeMap::from([("HIGH".to_string(), 2)]);
        let (warning, short) = compare_counts(&findings, &expected);
        let warning = warning.unwrap();
        assert_eq!(short[0].to_string(), "1 HIGH");
        assert_eq!(short[0].severity, Severity::High);
        assert!(
            warning.contains("count") && warning.contains("high: 1 read, 2"),
            "{warning}"
        );
    }

    // Issue 19 (found by the fuzz properties): two labels of one severity whose counts sum past
    // u64 panicked in a debug build and wrapped to 0 in a release one, where the lost HIGH
    // findings then left no shortfall and the image passed.
    #[test]
    fn counts_that_sum_past_u64_still_name_what_is_missing() {
        let expected = BTreeMap::from([("HIGH".to_string(), u64::MAX), ("high".to_string(), 1)]);
        let (warning, short) = compare_counts::<Finding>(&[], &expected);
        assert!(warning.is_some());
        assert_eq!(short.len(), 1, "{short:?}");
        assert_eq!(short[0].severity, Severity::High);
        assert_eq!(short[0].counted, u64::MAX);
    }

    #[test]
    fn fix_availability_reads_enhanced_values() {
        assert_eq!(Fix::from_ecr(Some("YES")), Fix::Yes);
        assert_eq!(Fix::from_ecr(Some("PARTIAL")), Fix::Partial);
        assert_eq!(Fix::from_ecr(Some("NO")), Fix::No);
        assert_eq!(Fix::from_ecr(None), Fix::Unknown);
    }
}
