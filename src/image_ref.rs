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
    /// The tag of a `repo:tag@sha256:…` pin (Kubernetes writes these): the digest is what is
    /// looked up and judged, the tag is kept for people.
    pub pinned_tag: Option<String>,
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
        Some(host) => match Registry::parse_host(host) {
            Some(r) => (Some(r.account), Some(r.region)),
            None => {
                return bad(&format!(
                    "`{host}` is not an ECR registry (expected <account>.dkr.ecr.<region>.amazonaws.com)"
                ))
            }
        },
        None => (None, None),
    };
    let mut pinned_tag = None;
    let (name, selector) = if let Some((name, digest)) = rest.split_once('@') {
        if !is_digest(digest) {
            return bad("a digest must be sha256: followed by 64 lowercase hex characters");
        }
        let name = match name.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => {
                if !is_tag(tag) {
                    return bad(&format!("`{tag}` is not a valid tag"));
                }
                pinned_tag = Some(tag.to_string());
                name
            }
            _ => name,
        };
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
        pinned_tag,
    })
}

/// A private ECR registry host, `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`. Image
/// references, VEX products, deployment files and admission reviews all ask this one parser,
/// so a host that only looks like ECR (`….dkr.ecr.us-east-1.evil.example`,
/// `….amazonaws.com.evil.example`) is ECR nowhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    /// The 12-digit account id.
    pub account: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// `aws`, or `aws-cn` for `.amazonaws.com.cn`.
    pub partition: &'static str,
    /// `dkr.ecr-fips`: the FIPS endpoint.
    pub fips: bool,
}

impl Registry {
    /// The registry a host names, or `None` when it is not a private ECR registry.
    pub fn parse_host(host: &str) -> Option<Registry> {
        let host = host.to_ascii_lowercase();
        let (rest, partition) = match host.strip_suffix(".amazonaws.com.cn") {
            Some(rest) => (rest, "aws-cn"),
            None => (host.strip_suffix(".amazonaws.com")?, "aws"),
        };
        let mut parts = rest.split('.');
        let (account, dkr, ecr, region) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let valid = parts.next().is_none()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && dkr == "dkr"
            && (ecr == "ecr" || ecr == "ecr-fips")
            && !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            // China regions live in the .cn partition, and only there.
            && (partition == "aws-cn") == region.starts_with("cn-");
        valid.then(|| Registry {
            account: account.to_string(),
            region: region.to_string(),
            partition,
            fips: ecr == "ecr-fips",
        })
    }
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
    fn a_tag_pinned_by_digest_is_looked_up_by_the_digest() {
        let r = parse(&format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:1.4@{DIGEST}"
        ))
        .unwrap();
        assert_eq!(r.selector, Selector::Digest(DIGEST.into()));
        assert_eq!(
            (r.repository.as_str(), r.pinned_tag.as_deref()),
            ("app/web", Some("1.4"))
        );
        assert!(parse(&format!("app/web:-x@{DIGEST}")).is_err());
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
    fn only_real_ecr_hosts_are_registries() {
        let fips =
            Registry::parse_host("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com").unwrap();
        assert_eq!((fips.partition, fips.fips), ("aws", true));
        let cn = Registry::parse_host("123456789012.DKR.ECR.cn-north-1.amazonaws.com.cn").unwrap();
        assert_eq!(
            (cn.account.as_str(), cn.region.as_str(), cn.partition),
            ("123456789012", "cn-north-1", "aws-cn")
        );
        for host in [
            "111122223333.dkr.ecr.us-east-1.evil.example",
            "111122223333.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "111122223333.dkr.ecr.us-east-1.evil.amazonaws.com",
            "111122223333.dkr.ecr.cn-north-1.amazonaws.com",
            "111122223333.dkr.ecr.us-east-1.amazonaws.com.cn",
            "public.ecr.aws",
            "1111222233334.dkr.ecr.us-east-1.amazonaws.com",
            "111122223333.dkr.ecr.us-east-1.amazonaws.com:443",
            "111122223333.dkr.ecr.ús-east-1.amazonaws.com",
        ] {
            assert_eq!(Registry::parse_host(host), None, "{host}");
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
