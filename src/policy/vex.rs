//! OpenVEX 0.2 documents: a team's statements that an image is (`affected`) or is not
//! (`not_affected`, `fixed`) exploitable through a vulnerability. Products are `pkg:oci` purls,
//! matched on the image digest, or on the repository when the purl has no version; statements
//! are indexed by vulnerability name and aliases so judging stays a lookup per finding.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::file::{line_column, offset_of, read_input, ConfigError};
use crate::findings::{Finding, Image};
use crate::image_ref::Registry;
use crate::timestamp::parse_instant;

/// A statement's `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    /// The product is not affected: the finding is allowed.
    NotAffected,
    /// The product is affected: allows nothing.
    Affected,
    /// The product contains a fix: the finding is allowed.
    Fixed,
    /// Not yet known: allows nothing.
    UnderInvestigation,
}

impl VexStatus {
    /// Whether this status allows a finding.
    pub fn allows(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }

    fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Justification {
    ComponentNotPresent,
    VulnerableCodeNotPresent,
    VulnerableCodeNotInExecutePath,
    VulnerableCodeCannotBeControlledByAdversary,
    InlineMitigationsAlreadyExist,
}

impl Justification {
    fn as_str(self) -> &'static str {
        match self {
            Justification::ComponentNotPresent => "component_not_present",
            Justification::VulnerableCodeNotPresent => "vulnerable_code_not_present",
            Justification::VulnerableCodeNotInExecutePath => "vulnerable_code_not_in_execute_path",
            Justification::VulnerableCodeCannotBeControlledByAdversary => {
                "vulnerable_code_cannot_be_controlled_by_adversary"
            }
            Justification::InlineMitigationsAlreadyExist => "inline_mitigations_already_exist",
        }
    }
}

/// The image a product names.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    /// `pkg:oci/…@sha256:…`: this manifest (or index) digest; in any repository, or in the ECR
    /// repository `repository_url` names.
    Digest {
        digest: String,
        place: Option<Place>,
    },
    /// `pkg:oci/…` without a version: every image of this repository (of this registry, when
    /// `repository_url` names an ECR host).
    Repository {
        /// The purl's own path, `pkg:oci/app/api`, when no `repository_url` says more.
        path: String,
        place: Option<Place>,
    },
    /// Not an OCI image purl, or an image in a registry other than ECR: matches no image.
    Other,
}

/// An ECR repository a `repository_url` names: its path, account and region.
#[derive(Clone, Debug, PartialEq)]
struct Place {
    path: String,
    account: String,
    region: String,
}

impl Place {
    fn holds(&self, image: &Image) -> bool {
        self.path == image.repository
            && image
                .registry_id
                .as_ref()
                .is_none_or(|a| *a == self.account)
            && image.region.as_ref().is_none_or(|r| *r == self.region)
    }
}

#[derive(Clone, Debug)]
struct Product {
    target: Target,
    /// `tag`, `arch` and `os` qualifiers: the image must have them too.
    tag: Option<String>,
    arch: Option<String>,
    os: Option<String>,
    /// Package names the statement is limited to; empty means the whole image. A
    /// subcomponent that names no package (`None`) matches none, never the whole image.
    subcomponents: Vec<Option<String>>,
}

/// One statement, with where it was written.
#[derive(Clone, Debug)]
pub struct Statement {
    /// `vulnerability.name`.
    pub vulnerability: String,
    /// What it says about the products.
    pub status: VexStatus,
    /// `VEX <status>: <justification or impact statement> (<file>)`, shared by every finding.
    pub reason: Arc<str>,
    /// `file:line:column` of the statement, for warnings.
    pub origin: String,
    products: Vec<Product>,
    /// The statement's time (its own, else its document's): the latest statement wins.
    time: OffsetDateTime,
}

/// Every statement of every VEX document, indexed by upper-case vulnerability name and alias.
#[derive(Clone, Debug, Default)]
pub struct Vex {
    /// In file order; the index into it is the statement's identity.
    pub statements: Vec<Statement>,
    by_id: HashMap<String, Vec<usize>>,
}

#[derive(Deserialize)]
struct RawDocument<'a> {
    #[serde(rename = "@context")]
    context: String,
    timestamp: Option<Instant>,
    #[serde(borrow)]
    statements: Vec<&'a RawValue>,
}

/// A timestamp checked while parsing, so a bad one is reported at its line and column.
struct Instant(OffsetDateTime);

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_instant(&text)
            .map(Instant)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Deserialize)]
struct RawStatement {
    vulnerability: RawVulnerability,
    #[serde(default)]
    products: Vec<RawProduct>,
    status: VexStatus,
    justification: Option<Justification>,
    impact_statement: Option<String>,
    status_notes: Option<String>,
    timestamp: Option<Instant>,
    last_updated: Option<Instant>,
}

#[derive(Deserialize)]
struct RawVulnerability {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Deserialize)]
struct RawProduct {
    #[serde(rename = "@id")]
    id: Option<String>,
    identifiers: Option<Identifiers>,
    #[serde(default)]
    subcomponents: Vec<RawComponent>,
}

#[derive(Deserialize)]
struct RawComponent {
    #[serde(rename = "@id")]
    id: Option<String>,
    identifiers: Option<Identifiers>,
}

#[derive(Deserialize)]
struct Identifiers {
    purl: Option<String>,
}

const WHAT: &str = "an OpenVEX 0.2 document";

impl Vex {
    /// Reads every document, in order.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Vex, ConfigError> {
        let mut vex = Vex::default();
        for path in paths {
            let path = path.as_ref();
            let bytes = read_input(path, "the VEX document")?;
            vex.add(&bytes, &path.display().to_string())?;
        }
        Ok(vex)
    }

    /// Adds one document's statements; `path` is only for messages.
    pub fn add(&mut self, bytes: &[u8], path: &str) -> Result<(), ConfigError> {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            ConfigError::whole(path, format!("not {WHAT}: the file is not UTF-8 text"))
        })?;
        let doc: RawDocument =
            serde_json::from_str(text).map_err(|e| ConfigError::json(path, &e, WHAT))?;
        if doc.context.starts_with("https://openvex.dev/ns/v0.0") {
            return Err(ConfigError::whole(
                path,
                format!(
                    "@context `{}` is OpenVEX 0.0.x: write OpenVEX 0.2 (@context https://openvex.dev/ns/v0.2.0)",
                    super::file::shorten(&doc.context, 80)
                ),
            ));
        }
        if !doc.context.starts_with("https://openvex.dev/ns") {
            return Err(ConfigError::whole(
                path,
                format!(
                    "not {WHAT}: @context is `{}`, expected https://openvex.dev/ns/v0.2.0",
                    super::file::shorten(&doc.context, 80)
                ),
            ));
        }
        // A statement without a time of its own has its document's `timestamp` (OpenVEX 0.2).
        let doc_time = doc.timestamp.map(|Instant(t)| t);
        for raw in doc.statements {
            // Where the statement starts in the file, so every message points into it.
            let start = offset_of(text, raw.get());
            let at = |message: String| ConfigError::at(path, text, start, message);
            let statement: RawStatement = serde_json::from_str(raw.get())
                .map_err(|e| ConfigError::json_at(path, text, start, raw.get(), &e, WHAT))?;
            let (line, column) = line_column(text, start);
            let origin = format!("{path}:{line}:{column}");
            let time = match statement.last_updated.or(statement.timestamp) {
                Some(Instant(t)) => t,
                None => doc_time.ok_or_else(|| {
                    at("the statement has no timestamp and neither has its document".to_string())
                })?,
            };
            if statement.products.is_empty() {
                return Err(at(format!(
                    "the statement for {} names no products (pkg:oci purls of the images it covers)",
                    statement.vulnerability.name
                )));
            }
            let detail = match statement.status {
                VexStatus::NotAffected => Some(
                    statement
                        .justification
                        .map(|j| j.as_str().to_string())
                        .or(statement.impact_statement.clone())
                        .ok_or_else(|| {
                            at(format!(
                                "the not_affected statement for {} needs a justification or an impact_statement",
                                statement.vulnerability.name
                            ))
                        })?,
                ),
                _ => statement.status_notes.clone().or(statement.impact_statement.clone()),
            };
            let reason = match detail {
                Some(detail) => format!("VEX {}: {detail} ({path})", statement.status.as_str()),
                None => format!("VEX {} ({path})", statement.status.as_str()),
            };
            let index = self.statements.len();
            for id in std::iter::once(&statement.vulnerability.name)
                .chain(&statement.vulnerability.aliases)
            {
                let ids = self
                    .by_id
                    .entry(id.trim().to_ascii_uppercase())
                    .or_default();
                if !ids.contains(&index) {
                    ids.push(index);
                }
            }
            self.statements.push(Statement {
                vulnerability: statement.vulnerability.name,
                status: statement.status,
                reason: reason.into(),
                origin,
                products: statement.products.into_iter().map(product).collect(),
                time,
            });
        }
        Ok(())
    }

    /// Whether there are no statements.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The latest statement about this finding (its id or an alias) on this image, marking in
    /// `used` every statement that matched, superseded or not.
    pub fn latest(
        &self,
        finding: &Finding,
        image: &Image,
        used: &mut [bool],
    ) -> Option<&Statement> {
        if self.statements.is_empty() {
            return None;
        }
        let mut best: Option<usize> = None;
        for id in finding.ids() {
            let Some(candidates) = self.by_id.get(&id.to_ascii_uppercase()) else {
                continue;
            };
            for &i in candidates {
                let statement = &self.statements[i];
                if !statement.products.iter().any(|p| p.covers(finding, image)) {
                    continue;
                }
                used[i] = true;
                // Later in time wins; at the same time, later in the files.
                if best.is_none_or(|b| (statement.time, i) > (self.statements[b].time, b)) {
                    best = Some(i);
                }
            }
        }
        best.map(|i| &self.statements[i])
    }
}

impl Product {
    fn covers(&self, finding: &Finding, image: &Image) -> bool {
        // `linux/arm64/v8`: os, then architecture.
        let mut platform = image.platform.as_deref().unwrap_or("").split('/');
        let (os, arch) = (platform.next(), platform.next());
        let qualifiers_match = self
            .tag
            .as_ref()
            .is_none_or(|t| image.tag.as_ref() == Some(t))
            && self.os.as_deref().is_none_or(|o| os == Some(o))
            && self.arch.as_deref().is_none_or(|a| arch == Some(a));
        let image_matches = qualifiers_match
            && match &self.target {
                Target::Digest { digest, place } => {
                    [&image.digest, &image.index_digest]
                        .into_iter()
                        .flatten()
                        .any(|d| d.eq_ignore_ascii_case(digest))
                        && place.as_ref().is_none_or(|p| p.holds(image))
                }
                Target::Repository { place: Some(p), .. } => p.holds(image),
                Target::Repository { place: None, path } => *path == image.repository,
                Target::Other => false,
            };
        image_matches
            && (self.subcomponents.is_empty()
                || (!finding.packages.is_empty()
                    && finding
                        .package_names()
                        .all(|n| self.subcomponents.iter().any(|s| s.as_deref() == Some(n)))))
    }
}

fn product(raw: RawProduct) -> Product {
    let purl = raw
        .identifiers
        .and_then(|i| i.purl)
        .or(raw.id)
        .and_then(|p| parse_purl(&p));
    let qualifier = |key: &str| {
        purl.as_ref()?
            .qualifiers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    Product {
        tag: qualifier("tag"),
        arch: qualifier("arch"),
        os: qualifier("os"),
        target: purl.as_ref().map(oci_target).unwrap_or(Target::Other),
        // Package names only: versions in package purls are not compared (Inspector writes
        // epochs and releases its own way).
        subcomponents: raw
            .subcomponents
            .into_iter()
            .map(|c| {
                let id = c.identifiers.and_then(|i| i.purl).or(c.id)?;
                Some(purl_name(&id).unwrap_or(id))
            })
            .collect(),
    }
}

/// The parts of a purl: type, namespace/name path, version and qualifiers.
struct Purl {
    kind: String,
    path: Vec<String>,
    version: Option<String>,
    qualifiers: Vec<(String, String)>,
}

fn parse_purl(text: &str) -> Option<Purl> {
    let text = oci_shorthand(text.trim());
    let purl = packageurl::PackageUrl::from_str(&text).ok()?;
    let path: Vec<String> = purl
        .namespace()
        .into_iter()
        .chain([purl.name()])
        .flat_map(|part| part.split('/'))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Some(Purl {
        kind: purl.ty().to_ascii_lowercase(),
        path,
        version: purl.version().map(str::to_string),
        qualifiers: purl
            .qualifiers()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect(),
    })
}

/// `pkg:oci/app/api` names the repository `app/api`: a shorthand of ours (the purl spec gives
/// `oci` no namespace, so the crate refuses it), handed to the crate as one encoded name.
fn oci_shorthand(text: &str) -> std::borrow::Cow<'_, str> {
    let prefix = "pkg:oci/";
    if !text
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    {
        return text.into();
    }
    let rest = &text[prefix.len()..];
    let end = rest.find(['@', '?', '#']).unwrap_or(rest.len());
    let (name, tail) = rest.split_at(end);
    let name = name.trim_matches('/');
    if !name.contains('/') {
        return text.into();
    }
    format!("{prefix}{}{tail}", name.replace('/', "%2F")).into()
}

/// A package purl's name (its last path segment), for subcomponents.
fn purl_name(text: &str) -> Option<String> {
    parse_purl(text)?.path.pop()
}

fn oci_target(purl: &Purl) -> Target {
    if purl.kind != "oci" {
        return Target::Other;
    }
    let repository_url = purl
        .qualifiers
        .iter()
        .find(|(k, _)| k == "repository_url")
        .map(|(_, v)| {
            let v = v.trim_end_matches('/');
            v.split_once("://").map_or(v, |(_, rest)| rest)
        });
    // `repository_url` holds the registry host and the whole repository path. An image in
    // another registry (or a host that only looks like ECR) is not one ECR scanned, whatever
    // its digest: such a product matches nothing.
    let place = match repository_url.map(|u| u.split_once('/')) {
        Some(Some((host, path))) => match Registry::parse_host(host) {
            Some(registry) => Some(Place {
                path: path.to_string(),
                account: registry.account,
                region: registry.region,
            }),
            None => return Target::Other,
        },
        Some(None) => return Target::Other,
        None => None,
    };
    match &purl.version {
        Some(version) => Target::Digest {
            digest: version.to_ascii_lowercase(),
            place,
        },
        None => Target::Repository {
            path: purl.path.join("/"),
            place,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{test_finding, Package};

    const DIGEST: &str = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    fn doc(statements: &str) -> String {
        format!(
            r#"{{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1",
               "author": "Security", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
               "statements": [{statements}]}}"#
        )
    }

    fn vex(text: &str) -> Vex {
        let mut vex = Vex::default();
        vex.add(text.as_bytes(), "app.openvex.json").unwrap();
        vex
    }

    fn image() -> Image {
        Image {
            repository: "app/web".into(),
            registry_id: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            digest: Some(DIGEST.into()),
            ..Default::default()
        }
    }

    fn finding(id: &str, package: &str) -> Finding {
        Finding {
            packages: [Package {
                name: package.into(),
                version: None,
                fixed_in: None,
            }]
            .into(),
            ..test_finding(id, "HIGH")
        }
    }

    fn status_of(vex: &Vex, f: &Finding, image: &Image) -> Option<VexStatus> {
        let mut used = vec![false; vex.statements.len()];
        vex.latest(f, image, &mut used).map(|s| s.status)
    }

    #[test]
    fn products_match_by_digest_or_repository() {
        let by_digest = vex(&doc(&format!(
            r#"{{"vulnerability": {{"name": "CVE-2023-4863"}}, "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "products": [{{"@id": "pkg:oci/web@{}?repository_url=123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web"}}]}}"#,
            DIGEST.replace(':', "%3A")
        )));
        let f = finding("CVE-2023-4863", "libwebp");
        assert_eq!(
            status_of(&by_digest, &f, &image()),
            Some(VexStatus::NotAffected)
        );
        let other = Image {
            digest: Some(format!("sha256:{}", "0".repeat(64))),
            ..image()
        };
        assert_eq!(status_of(&by_digest, &f, &other), None);
        let statement = &by_digest.statements[0];
        assert_eq!(
            &*statement.reason,
            "VEX not_affected: vulnerable_code_not_in_execute_path (app.openvex.json)"
        );
        assert_eq!(statement.origin, "app.openvex.json:3:31");

        let by_repo = vex(&doc(
            r#"{"vulnerability": {"name": "CVE-2023-4863"}, "status": "fixed",
                "products": [{"identifiers": {"purl": "pkg:oci/web?repository_url=123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web"}},
                             {"@id": "pkg:oci/app/api"}]}"#,
        ));
        assert_eq!(status_of(&by_repo, &f, &image()), Some(VexStatus::Fixed));
        let api = Image {
            repository: "app/api".into(),
            ..image()
        };
        assert_eq!(status_of(&by_repo, &f, &api), Some(VexStatus::Fixed));
        let elsewhere = Image {
            registry_id: Some("210987654321".into()),
            ..image()
        };
        assert_eq!(status_of(&by_repo, &f, &elsewhere), None);
        let web_elsewhere = Image {
            repository: "other/web".into(),
            ..image()
        };
        assert_eq!(status_of(&by_repo, &f, &web_elsewhere), None);
    }

    #[test]
    fn aliases_match_both_ways_and_the_latest_statement_wins() {
        let v = vex(&doc(
            r#"{"vulnerability": {"name": "GHSA-j7hp-h8jx-5ppr", "aliases": ["CVE-2023-4863"]},
                "status": "not_affected", "impact_statement": "never decodes WebP",
                "timestamp": "2026-11-02T00:00:00Z", "products": [{"@id": "pkg:oci/app/web"}]},
               {"vulnerability": {"name": "CVE-2023-4863"}, "status": "affected",
                "timestamp": "2026-11-03T00:00:00Z", "products": [{"@id": "pkg:oci/app/web"}]},
               {"vulnerability": {"name": "GHSA-aaaa-bbbb-cccc"}, "status": "not_affected",
                "justification": "component_not_present", "products": [{"@id": "pkg:oci/app/web"}]}"#,
        ));
        let mut used = vec![false; 3];
        let f = finding("CVE-2023-4863", "libwebp");
        let latest = v.latest(&f, &image(), &mut used).unwrap();
        assert_eq!(latest.status, VexStatus::Affected);
        assert_eq!(used, vec![true, true, false]);

        let mut aliased = finding("CVE-2099-1", "x");
        aliased.aliases = ["ghsa-aaaa-bbbb-cccc".into()].into();
        assert_eq!(
            status_of(&v, &aliased, &image()),
            Some(VexStatus::NotAffected)
        );
    }

    #[test]
    fn subcomponents_limit_a_statement_to_packages() {
        let v = vex(&doc(
            r#"{"vulnerability": {"name": "CVE-1"}, "status": "not_affected",
                "justification": "vulnerable_code_not_present",
                "products": [{"@id": "pkg:oci/app/web",
                              "subcomponents": [{"@id": "pkg:deb/debian/libwebp7@1.2.4"}]}]}"#,
        ));
        assert!(status_of(&v, &finding("CVE-1", "libwebp7"), &image()).is_some());
        assert!(status_of(&v, &finding("CVE-1", "libtiff6"), &image()).is_none());
    }

    #[test]
    fn malformed_documents_point_at_the_problem() {
        let err = Vex::default()
            .add(
                doc(r#"{"vulnerability": {"name": "CVE-1"}, "status": "maybe", "products": [{"@id": "pkg:oci/a"}]}"#)
                    .as_bytes(),
                "v.json",
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("v.json:3:"), "{text}");
        assert!(text.contains("unknown variant `maybe`"), "{text}");

        let err = Vex::default()
            .add(
                doc(r#"{"vulnerability": {"name": "CVE-1"}, "status": "not_affected", "products": [{"@id": "pkg:oci/a"}]}"#)
                    .as_bytes(),
                "v.json",
            )
            .unwrap_err();
        assert!(err.to_string().contains("needs a justification"), "{err}");

        let err = Vex::default()
            .add(
                b"{\"@context\": \"https://cyclonedx.org\", \"statements\": []}",
                "v.json",
            )
            .unwrap_err();
        assert!(err.to_string().contains("@context"), "{err}");
        let err = Vex::default()
            .add(b"{\"statements\": [}", "v.json")
            .unwrap_err();
        assert!(err.to_string().starts_with("v.json:1:"), "{err}");
    }

    #[test]
    fn qualifiers_registries_and_index_digests_narrow_or_widen_as_written() {
        let one = |product: &str| {
            vex(&doc(&format!(
                r#"{{"vulnerability": {{"name": "CVE-1"}}, "status": "fixed", "products": [{product}]}}"#
            )))
        };
        let f = finding("CVE-1", "p");
        let amd64 = Image {
            platform: Some("linux/amd64".into()),
            index_digest: Some(DIGEST.into()),
            digest: Some(format!("sha256:{}", "1".repeat(64))),
            tag: Some("v1".into()),
            ..image()
        };
        // A digest purl of the index covers each of its platform images.
        assert!(status_of(
            &one(&format!(r#"{{"@id": "pkg:oci/web@{DIGEST}"}}"#)),
            &f,
            &amd64
        )
        .is_some());
        let by_arch = one(&format!(r#"{{"@id": "pkg:oci/web@{DIGEST}?arch=arm64"}}"#));
        assert!(
            status_of(&by_arch, &f, &amd64).is_none(),
            "an arm64 statement is not about amd64"
        );
        let arm64 = Image {
            platform: Some("linux/arm64/v8".into()),
            ..amd64.clone()
        };
        assert!(status_of(&by_arch, &f, &arm64).is_some());
        let by_tag = one(r#"{"@id": "pkg:oci/app/web?tag=v2"}"#);
        assert!(status_of(&by_tag, &f, &amd64).is_none(), "tag v2 is not v1");
        // Other registries are other images; an ECR URL may carry a scheme, or be FIPS.
        let public = one(r#"{"@id": "pkg:oci/web?repository_url=public.ecr.aws/x/app/web"}"#);
        assert!(status_of(&public, &f, &image()).is_none());
        let public_digest = one(&format!(
            r#"{{"@id": "pkg:oci/web@{DIGEST}?repository_url=public.ecr.aws/x/app/web"}}"#
        ));
        assert!(
            status_of(&public_digest, &f, &amd64).is_none(),
            "not ECR, whatever the digest"
        );
        // Hosts that only look like ECR are other registries.
        for host in [
            "123456789012.dkr.ecr.us-east-1.evil.example",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
        ] {
            for version in ["", &format!("@{DIGEST}")] {
                let lookalike = one(&format!(
                    r#"{{"@id": "pkg:oci/web{version}?repository_url={host}/app/web"}}"#
                ));
                assert!(
                    status_of(&lookalike, &f, &amd64).is_none(),
                    "{host}{version}"
                );
            }
        }
        let scheme = one(
            r#"{"@id": "pkg:oci/web?repository_url=https%3A%2F%2F123456789012.dkr.ecr-fips.us-east-1.amazonaws.com%2Fapp%2Fweb"}"#,
        );
        assert!(status_of(&scheme, &f, &image()).is_some());
    }

    #[test]
    fn a_subcomponent_without_a_package_name_allows_nothing() {
        let v = vex(&doc(
            r#"{"vulnerability": {"name": "CVE-1"}, "status": "not_affected",
                "justification": "vulnerable_code_not_present",
                "products": [{"@id": "pkg:oci/app/web",
                              "subcomponents": [{"identifiers": {"cpe23": "cpe:2.3:a:x:y:1:*:*:*:*:*:*:*"}}]}]}"#,
        ));
        assert!(status_of(&v, &finding("CVE-1", "libwebp7"), &image()).is_none());
        let by_purl = vex(&doc(
            r#"{"vulnerability": {"name": "CVE-1"}, "status": "not_affected",
                "justification": "vulnerable_code_not_present",
                "products": [{"@id": "pkg:oci/app/web",
                              "subcomponents": [{"identifiers": {"purl": "pkg:npm/%40scope/libwebp7"}}]}]}"#,
        ));
        assert!(status_of(&by_purl, &finding("CVE-1", "libwebp7"), &image()).is_some());
    }

    #[test]
    fn statement_times_come_from_the_statement_then_the_document_timestamp() {
        let v = vex(
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "timestamp": "2026-11-01T00:00:00Z",
                "last_updated": "2026-12-01T00:00:00Z",
                "statements": [
                  {"vulnerability": {"name": "CVE-1"}, "status": "affected", "products": [{"@id": "pkg:oci/app/web"}]},
                  {"vulnerability": {"name": "CVE-1"}, "status": "fixed", "timestamp": "2026-10-01T00:00:00Z",
                    "last_updated": "2026-11-15T00:00:00Z", "products": [{"@id": "pkg:oci/app/web"}]}
                ]}"#,
        );
        // 2026-11-15 (its last_updated) beats 2026-11-01 (the document's timestamp; the
        // document's last_updated is not the statement's time).
        assert_eq!(
            status_of(&v, &finding("CVE-1", "p"), &image()),
            Some(VexStatus::Fixed)
        );
        let err = Vex::default()
            .add(
                b"{\"@context\": \"https://openvex.dev/ns/v0.2.0\",\n \"timestamp\": \"soon\", \"statements\": []}",
                "v.json",
            )
            .unwrap_err();
        assert!(err.to_string().starts_with("v.json:2:"), "{err}");
        let err = Vex::default()
            .add(
                b"{\"@context\": \"https://openvex.dev/ns/v0.0.1\", \"statements\": []}",
                "v.json",
            )
            .unwrap_err();
        assert!(err.to_string().contains("OpenVEX 0.0.x"), "{err}");
    }
}
