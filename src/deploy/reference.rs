//! Image values as a container runtime reads them (the docker/OCI reference grammar), sorted
//! into private ECR references the gate can judge and every other registry it cannot.
//!
//! This is wider than [`crate::image_ref`], which reads only what ECR can answer: a deployment
//! file also names Docker Hub, `ghcr.io` or `localhost:5000` images, and a Kubernetes pin is
//! `REPO:TAG@sha256:…`, tag and digest together.

use super::Format;
use crate::image_ref;

/// Docker's limit on the name (registry and path) of a reference.
const NAME_MAX: usize = 255;

/// An image value that reads as a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// `host[:port]`, when the first path component is one (it has a `.` or `:`, is
    /// `localhost`, or has an uppercase letter: docker's rule).
    pub domain: Option<String>,
    /// The repository path after the domain (`library/busybox`, `app/web`).
    pub path: String,
    /// The tag as written; none means the runtime pulls `latest`, unless a digest is given.
    pub tag: Option<String>,
    /// `sha256:<64 hex>` as written; when present it is what gets pulled, whatever the tag.
    pub digest: Option<String>,
    /// Whether the gate can judge it.
    pub registry: Registry,
}

/// Where a reference points, as far as judging goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registry {
    /// `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`, by the host check of
    /// [`crate::image_ref`], so a look-alike host is never taken for ECR.
    Ecr {
        /// The 12-digit account id.
        account: String,
        /// The region in the host name.
        region: String,
    },
    /// Anything else: Docker Hub (also a bare `nginx`), `ghcr.io`, `quay.io`, `public.ecr.aws`,
    /// a private registry.
    Other,
}

/// Reads one image value. The error is a lowercase fragment saying what is wrong, to follow
/// "`VALUE` is not an image reference: ".
pub fn parse(value: &str) -> Result<ImageRef, String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    if value.contains("${") || value.contains("{{") {
        return Err(
            "it holds an unexpanded variable or template: pass the rendered file \
             (`helm template`, `docker compose config`)"
                .into(),
        );
    }
    if value.trim() != value || value.contains(char::is_whitespace) {
        return Err("it contains white space".into());
    }
    let (name, digest) = match value.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (value, None),
    };
    if let Some(digest) = digest {
        check_digest(digest)?;
    }
    // A `:` after the last `/` starts the tag; one before it belongs to a `host:port`.
    let last_slash = name.rfind('/').map_or(0, |at| at + 1);
    let (name, tag) = match name[last_slash..].rfind(':') {
        Some(at) => (&name[..last_slash + at], Some(&name[last_slash + at + 1..])),
        None => (name, None),
    };
    if tag == Some("") {
        return Err("the tag after `:` is empty".into());
    }
    if let Some(tag) = tag {
        if !is_tag(tag) {
            return Err(format!(
                "`{tag}` is not a valid tag (up to 128 letters, digits, `_`, `.`, `-`, not \
                 starting with `.` or `-`)"
            ));
        }
    }
    if name.len() > NAME_MAX {
        return Err(format!("the name is longer than {NAME_MAX} characters"));
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.contains(|c: char| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    if let Some(domain) = domain {
        if !is_domain(domain) {
            return Err(format!("`{domain}` is not a valid registry host"));
        }
    }
    if let Some(bad) = path.split('/').find(|part| !is_path_component(part)) {
        return Err(if bad.is_empty() {
            "the repository path has an empty component".to_string()
        } else {
            format!(
                "`{bad}` is not a valid repository path component (lowercase letters and \
                 digits, separated by `.`, `_`, `__` or dashes)"
            )
        });
    }
    let registry = match domain.and_then(image_ref::Registry::parse_host) {
        Some(r) => Registry::Ecr {
            account: r.account,
            region: r.region,
        },
        None => Registry::Other,
    };
    let image = ImageRef {
        domain: domain.map(str::to_string),
        path: path.to_string(),
        tag: tag.map(str::to_string),
        digest: digest.map(str::to_string),
        registry,
    };
    if image.is_ecr() {
        // The rest of the gate reads ECR references with `image_ref::parse`: what it refuses
        // (a one-letter repository, say) cannot be judged, so it is refused here, up front.
        image_ref::parse(&image.lookup())?;
    }
    Ok(image)
}

impl ImageRef {
    /// Whether the reference is in a private ECR registry, which the gate can judge.
    pub fn is_ecr(&self) -> bool {
        matches!(self.registry, Registry::Ecr { .. })
    }

    /// `domain/path`: the reference without tag or digest.
    pub fn name(&self) -> String {
        match &self.domain {
            Some(domain) => format!("{domain}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// What to look up, in the form [`crate::image_ref::parse`] reads: `name@digest` when a
    /// digest is given (the runtime pulls the digest and ignores the tag; `image_ref::parse`
    /// does not take both), else `name[:tag]`.
    pub fn lookup(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => format!("{}@{digest}", self.name()),
            (None, Some(tag)) => format!("{}:{tag}", self.name()),
            (None, None) => self.name(),
        }
    }

    /// The value to write once `digest` is judged: `name:tag@digest` for Kubernetes and Compose
    /// (the tag stays for people, the runtime pulls the digest), `name@digest` for ECS.
    pub fn pinned(&self, digest: &str, format: Format) -> String {
        match (&self.tag, format) {
            (Some(tag), Format::Kubernetes | Format::Compose) => {
                format!("{}:{tag}@{digest}", self.name())
            }
            _ => format!("{}@{digest}", self.name()),
        }
    }
}

/// `sha256:` and 64 lowercase hex digits, or `sha512:` and 128: the digests OCI registers.
fn check_digest(digest: &str) -> Result<(), String> {
    let hex_of = |hex: &str, len: usize| {
        hex.len() == len
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let valid = match digest.split_once(':') {
        Some(("sha256", hex)) => hex_of(hex, 64),
        Some(("sha512", hex)) => hex_of(hex, 128),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{digest}` is not a valid digest (sha256: and 64 lowercase hex digits)"
        ))
    }
}

/// `[\w][\w.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    tag.len() <= 128
        && tag.bytes().next().is_some_and(word)
        && tag.bytes().all(|b| word(b) || matches!(b, b'.' | b'-'))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_path_component(part: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = part.as_bytes();
    if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
        return false;
    }
    // Between alphanumeric runs: one `.`, one or two `_`, or any number of `-`.
    bytes
        .split(alnum)
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&b| b == b'-'))
}

/// `host[:port]`, host being dot-separated DNS labels or a bracketed IPv6 address.
fn is_domain(domain: &str) -> bool {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            _ => ("", after.strip_prefix(':').unwrap_or("x")),
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, port),
            None => (domain, "0"),
        }
    };
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let host_ok = domain.starts_with('[') || host.split('.').all(label);
    host_ok && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    #[test]
    fn ecr_references_in_every_form_are_judged() {
        for value in [
            format!("{ECR}/app/web:1.4.2"),
            format!("{ECR}/app/web"),
            format!("{ECR}/app/web@{DIGEST}"),
            format!("{ECR}/app/web:1.4.2@{DIGEST}"),
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app/web:1".to_string(),
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app/web:1".to_string(),
        ] {
            let image = parse(&value).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert!(image.is_ecr(), "{value}");
            // Whatever the form, the rest of the gate can read what it should look up.
            let reference = image_ref::parse(&image.lookup()).unwrap();
            assert_eq!(reference.repository, "app/web");
        }
        let both = parse(&format!("{ECR}/app/web:1.4.2@{DIGEST}")).unwrap();
        assert_eq!(
            (both.tag.as_deref(), both.digest.as_deref()),
            (Some("1.4.2"), Some(DIGEST))
        );
        assert_eq!(
            both.registry,
            Registry::Ecr {
                account: "123456789012".into(),
                region: "us-east-1".into()
            }
        );
        assert_eq!(both.lookup(), format!("{ECR}/app/web@{DIGEST}"));
    }

    #[test]
    fn other_registries_are_references_but_not_ecr() {
        for value in [
            "nginx",
            "nginx:1.27",
            "library/nginx",
            "docker.io/library/busybox:1.36",
            "ghcr.io/org/app:v1",
            "quay.io/prometheus/node-exporter:v1.8.0",
            "public.ecr.aws/nginx/nginx:latest",
            "localhost:5000/x",
            "localhost/x",
            "registry.example.com:8443/team/a__b/c--d:T_1",
            "[::1]:5000/x:1",
            // Look-alikes of ECR are other registries, never judged as ECR.
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app:1",
            "123456789012.dkr.ecr.us-east-1.evil.example/app:1",
        ] {
            let image = parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert!(!image.is_ecr(), "{value}");
        }
        let hub = parse(&format!("nginx:1.27@{DIGEST}")).unwrap();
        assert_eq!(
            (hub.domain, hub.path.as_str(), hub.tag.as_deref()),
            (None, "nginx", Some("1.27"))
        );
        let port = parse("localhost:5000/x").unwrap();
        assert_eq!(
            (port.domain.as_deref(), port.tag),
            (Some("localhost:5000"), None)
        );
    }

    #[test]
    fn values_outside_the_grammar_say_why() {
        for (value, why) in [
            ("", "empty"),
            ("Nginx:ÿ", "`ÿ` is not a valid tag"),
            ("Nginx", "`Nginx` is not a valid repository path"),
            ("app/Web:1", "`Web`"),
            ("web:", "the tag after `:` is empty"),
            ("web:-x", "`-x` is not a valid tag"),
            ("web@sha256:abc", "not a valid digest"),
            (
                "web@md5:0123456789abcdef0123456789abcdef",
                "not a valid digest",
            ),
            ("web:1@sha256:ABCDEF", "not a valid digest"),
            ("a//b", "empty component"),
            ("a/b/", "empty component"),
            ("-a", "`-a`"),
            ("a...b", "`a...b`"),
            ("a___b", "`a___b`"),
            ("bad_host.example/app", "not a valid registry host"),
            ("-bad.example/app", "not a valid registry host"),
            ("host.example:port/app", "not a valid registry host"),
            (" nginx", "white space"),
            ("nginx latest", "white space"),
            ("${REGISTRY}/app:${TAG}", "unexpanded"),
            ("{{ .Values.image }}", "unexpanded"),
        ] {
            let err = parse(value).unwrap_err();
            assert!(err.contains(why), "{value:?}: {err}");
        }
        assert!(parse(&format!("{}:1", "a".repeat(256))).is_err());
        assert!(parse(&format!("a:{}", "1".repeat(129))).is_err());
        assert!(parse(&format!("a:{}", "1".repeat(128))).is_ok());
    }

    #[test]
    fn an_ecr_reference_the_ecr_parser_refuses_is_refused() {
        // Valid for docker, but ECR repository names have at least two characters.
        let err = parse(&format!("{ECR}/a:1")).unwrap_err();
        assert!(err.contains("repository names"), "{err}");
    }

    #[test]
    fn pinned_forms_follow_the_format() {
        let image = parse(&format!("{ECR}/app/web:1.4.2")).unwrap();
        assert_eq!(
            image.pinned(DIGEST, Format::Kubernetes),
            format!("{ECR}/app/web:1.4.2@{DIGEST}")
        );
        assert_eq!(
            image.pinned(DIGEST, Format::Compose),
            format!("{ECR}/app/web:1.4.2@{DIGEST}")
        );
        assert_eq!(
            image.pinned(DIGEST, Format::Ecs),
            format!("{ECR}/app/web@{DIGEST}")
        );
        let untagged = parse(&format!("{ECR}/app/web")).unwrap();
        assert_eq!(
            untagged.pinned(DIGEST, Format::Kubernetes),
            format!("{ECR}/app/web@{DIGEST}")
        );
    }
}
