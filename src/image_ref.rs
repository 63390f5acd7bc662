//! Image references as users write them: `repo`, `repo:tag`, `repo@sha256:<hex>`, and full ECR
//! URIs `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repo>[:tag|@digest]`.

use std::fmt;

/// What to look up in ECR: a tag (resolved to a digest once) or a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `repo:tag` (`latest` when none is given): resolved to a digest once.
    Tag(String),
    /// `repo@sha256:...`: exactly this manifest.
    Digest(String),
}

/// One image reference as parsed from the command line, before anything is asked of ECR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// As the user wrote it, for messages and reports.
    pub original: String,
    /// The account id of a full ECR URI.
    pub registry_id: Option<String>,
    /// The region of a full ECR URI.
    pub region: Option<String>,
    /// The repository name, slashes included (`team/app`).
    pub repository: String,
    /// The tag or digest to look up.
    pub selector: Selector,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// Parses one reference; the error names the reference and what is wrong with it.
pub fn parse(text: &str) -> Result<Reference, String> {
    let trimmed = text.trim();
    let bad = |why: &str| Err(format!("invalid image reference `{trimmed}`: {why}"));
    let original = trimmed.to_string();
    if original.is_empty() {
        return bad("it is empty");
    }
    let (registry, rest) = match trimmed.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') => (Some(host), rest),
        _ => (None, trimmed),
    };
    let (registry_id, region) = match registry {
        Some(host) => match parse_registry(host) {
            Some((account, region)) => (Some(account), Some(region)),
            None => {
                return bad(&format!(
                    "`{host}` is not an ECR registry (expected <account>.dkr.ecr.<region>.amazonaws.com)"
                ))
            }
        },
        None => (None, None),
    };
    let (name, selector) = if let Some((name, digest)) = rest.split_once('@') {
        if !is_digest(digest) {
            return bad("a digest must be sha256: followed by 64 lowercase hex characters");
        }
        (name, Selector::Digest(digest.to_string()))
    } else {
        match rest.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => {
                if !is_tag(tag) {
                    return bad(&format!("`{tag}` is not a valid tag"));
                }
                (name, Selector::Tag(tag.to_string()))
            }
            _ => (rest, Selector::Tag("latest".to_string())),
        }
    };
    if !is_repository(name) {
        return bad(
            "repository names are lowercase letters, digits and . _ - / (2–256 characters)",
        );
    }
    Ok(Reference {
        original,
        registry_id,
        region,
        repository: name.to_string(),
        selector,
    })
}

/// `<12 digits>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`
pub fn parse_registry(host: &str) -> Option<(String, String)> {
    let host = host.to_ascii_lowercase();
    let rest = host
        .strip_suffix(".amazonaws.com.cn")
        .or_else(|| host.strip_suffix(".amazonaws.com"))?;
    let mut parts = rest.splitn(4, '.');
    let account = parts.next()?;
    let dkr = parts.next()?;
    let ecr = parts.next()?;
    let region = parts.next()?;
    let valid = account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && dkr == "dkr"
        && (ecr == "ecr" || ecr == "ecr-fips")
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| (account.to_string(), region.to_string()))
}

/// `sha256:` and 64 lowercase hex digits: the only digest form ECR gives.
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// ECR tags: up to 300 characters of letters, digits, `_`, `.`, `-` (docker's grammar).
pub fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 300
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !tag.starts_with(['.', '-'])
}

/// ECR's repository pattern: `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`.
fn is_repository(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
                && part.starts_with(|c: char| c.is_ascii_alphanumeric())
                && part.ends_with(|c: char| c.is_ascii_alphanumeric())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn bare_repository_means_latest() {
        let r = parse("app/web").unwrap();
        assert_eq!(
            (r.repository.as_str(), r.selector),
            ("app/web", Selector::Tag("latest".into()))
        );
        assert_eq!(r.registry_id, None);
    }

    #[test]
    fn tag_and_digest_forms() {
        assert_eq!(
            parse("web:v1.2").unwrap().selector,
            Selector::Tag("v1.2".into())
        );
        assert_eq!(
            parse(&format!("team/web@{DIGEST}")).unwrap().selector,
            Selector::Digest(DIGEST.into())
        );
    }

    #[test]
    fn full_uris_supply_registry_and_region() {
        for (uri, region) in [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:v1",
                "us-east-1",
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app/web:v1",
                "us-gov-west-1",
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app/web:v1",
                "cn-north-1",
            ),
        ] {
            let r = parse(uri).unwrap();
            assert_eq!(r.registry_id.as_deref(), Some("123456789012"));
            assert_eq!(r.region.as_deref(), Some(region));
            assert_eq!(r.repository, "app/web");
        }
    }

    #[test]
    fn bad_references_are_named() {
        for bad in [
            "",
            "App/Web",
            "web@sha256:short",
            "web:",
            "docker.io/library/nginx:1",
            "12345.dkr.ecr.us-east-1.amazonaws.com/web",
            "web//x",
            "web:tag with space",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("invalid image reference"), "{bad}: {err}");
        }
    }
}
