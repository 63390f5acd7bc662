//! Tag → digest, once (`DescribeImages`), and a multi-arch image index → one image per
//! platform (`BatchGetImage` reads the index). Everything after this uses digests, so a tag
//! that moves while we wait cannot change what is judged.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::api::{ApiError, ScanApi};
use super::retry;
use crate::findings::{Image, ImageError};

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// The image(s) `base` names: itself with its digest, or each platform image of an index. A
/// tag just pushed can be invisible for a moment, so `ImageNotFoundException` is asked again
/// for `grace`; transient faults until `deadline`.
pub async fn resolve<A: ScanApi>(
    api: &A,
    base: &Image,
    grace: Duration,
    deadline: Instant,
) -> Result<Vec<Image>, ImageError> {
    let start = Instant::now();
    let detail = retry::call_with(
        deadline,
        "DescribeImages",
        || api.describe_image(base),
        |e: &ApiError| e.code() == Some("ImageNotFoundException") && start.elapsed() < grace,
        |_| false,
    )
    .await
    .map_err(|e| e.into_image_error("ecr:DescribeImages", base))?;
    tracing::debug!(image = %base, digest = %detail.digest, "resolved");
    let resolved = Image {
        digest: Some(detail.digest),
        registry_id: base.registry_id.clone().or(detail.registry_id),
        ..base.clone()
    };
    if !is_index(detail.media_type.as_deref()) {
        return Ok(vec![resolved]);
    }
    let mut notes = Vec::new();
    let images = platforms(api, resolved.clone(), &resolved, deadline, 0, &mut notes).await?;
    for note in &notes {
        tracing::info!(index = %resolved, "{note}");
    }
    if images.is_empty() {
        return Err(ImageError::scan(format!(
            "the image index {resolved} lists no runnable image to gate ({}): nothing was scanned, so nothing can pass",
            if notes.is_empty() { "it is empty".to_string() } else { notes.join("; ") }
        )));
    }
    tracing::debug!(index = %resolved, platforms = images.len(), "multi-arch index");
    Ok(images)
}

fn is_index(media_type: Option<&str>) -> bool {
    INDEX_TYPES.contains(&media_type.unwrap_or(""))
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    digest: String,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    artifact_type: Option<String>,
    platform: Option<Platform>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Platform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

/// Platform names come from the pushed manifest: anything but `[A-Za-z0-9._-]` is replaced so
/// they are safe in logs and reports.
fn platform_part(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Nested indexes are followed this deep at most.
const MAX_DEPTH: usize = 4;

/// Each runnable image an index lists (following nested indexes); what is skipped is noted.
/// Attestation manifests, OCI artifacts, signatures and `unknown/unknown` entries are not
/// images and have no scan. An entry digest that is not `sha256:<64 hex>` is an AWS error.
async fn platforms<A: ScanApi>(
    api: &A,
    index: Image,
    top: &Image,
    deadline: Instant,
    depth: usize,
    notes: &mut Vec<String>,
) -> Result<Vec<Image>, ImageError> {
    let what = index.to_string();
    let manifest = super::retry::call(deadline, "BatchGetImage", || api.manifest(&index))
        .await
        .map_err(|e| e.into_image_error("ecr:BatchGetImage", &index))?;
    let parsed: Index = serde_json::from_str(&manifest.body).map_err(|e| {
        ImageError::aws(format!(
            "the image index {what} is not a valid index manifest: {e}"
        ))
    })?;
    let mut images = Vec::new();
    for entry in parsed.manifests {
        if !crate::image_ref::is_digest(&entry.digest) {
            return Err(ImageError::aws(format!(
                "the image index {what} lists an entry whose digest `{}` is not sha256:<64 hex>: a malformed index is never a pass",
                entry.digest
            )));
        }
        let skip = if entry
            .annotations
            .get("vnd.docker.reference.type")
            .is_some_and(|t| t == "attestation-manifest")
        {
            Some("an attestation manifest")
        } else if entry.artifact_type.is_some() {
            Some("an OCI artifact (artifactType)")
        } else if entry
            .annotations
            .keys()
            .any(|k| k.starts_with("dev.sigstore") || k.starts_with("dev.cosignproject"))
            || entry
                .media_type
                .as_deref()
                .is_some_and(|m| m.contains("cosign") || m.contains("sigstore"))
        {
            Some("a signature")
        } else if entry
            .platform
            .as_ref()
            .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
        {
            Some("an unknown/unknown platform entry")
        } else {
            None
        };
        if let Some(why) = skip {
            notes.push(format!("skipped {} ({why})", entry.digest));
            continue;
        }
        if is_index(entry.media_type.as_deref()) {
            if depth + 1 >= MAX_DEPTH {
                return Err(ImageError::aws(format!(
                    "the image index {what} nests indexes more than {MAX_DEPTH} deep"
                )));
            }
            let nested = Image {
                digest: Some(entry.digest),
                ..index.clone()
            };
            images.extend(Box::pin(platforms(api, nested, top, deadline, depth + 1, notes)).await?);
            continue;
        }
        // An entry without a platform is still an image: gate it rather than skip it.
        let platform = match entry.platform {
            Some(p) => [Some(p.os), Some(p.architecture), p.variant]
                .into_iter()
                .flatten()
                .map(|part| platform_part(&part))
                .collect::<Vec<_>>()
                .join("/"),
            None => "unspecified".to_string(),
        };
        images.push(Image {
            digest: Some(entry.digest),
            platform: Some(platform),
            index_digest: top.digest.clone(),
            ..top.clone()
        });
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecr::api::{ImageDetail, Manifest};
    use crate::ecr::scripted::{service, Scripted};

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn detail(d: char, media_type: &str) -> ImageDetail {
        ImageDetail {
            digest: digest(d),
            registry_id: None,
            media_type: Some(media_type.to_string()),
        }
    }

    fn manifest(entries: serde_json::Value) -> Manifest {
        Manifest {
            body: serde_json::json!({"schemaVersion": 2, "manifests": entries}).to_string(),
            media_type: None,
        }
    }

    fn tagged() -> Image {
        Image {
            repository: "app/web".into(),
            tag: Some("v1".into()),
            ..Image::default()
        }
    }

    async fn run(api: &Scripted) -> Result<Vec<Image>, ImageError> {
        let deadline = Instant::now() + Duration::from_secs(600);
        resolve(api, &tagged(), Duration::from_secs(60), deadline).await
    }

    const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    const OCI_IMAGE: &str = "application/vnd.oci.image.manifest.v1+json";

    #[tokio::test(start_paused = true)]
    async fn a_tag_just_pushed_is_asked_again_for_the_grace_then_is_exit_4() {
        let api = Scripted::new()
            .describe(Err(service("ImageNotFoundException")))
            .describe(Err(service("ImageNotFoundException")))
            .describe(Ok(detail('d', OCI_IMAGE)));
        let images = run(&api).await.expect("found once visible");
        assert_eq!(images[0].digest, Some(digest('d')));
        assert_eq!(api.count("describe_image"), 3);

        let start = Instant::now();
        let api = Scripted::new().describe(Err(service("ImageNotFoundException")));
        let e = run(&api).await.unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert!(e.message().contains("ImageNotFoundException"), "{e}");
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(60) && waited < Duration::from_secs(80),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn nested_indexes_are_followed_and_non_images_skipped() {
        let api = Scripted::new()
            .describe(Ok(detail('e', OCI_INDEX)))
            .manifest(Ok(manifest(serde_json::json!([
                {"digest": digest('1'), "mediaType": OCI_IMAGE, "platform": {"os": "linux", "architecture": "amd64"}},
                {"digest": digest('b'), "mediaType": OCI_INDEX},
                {"digest": digest('a'), "mediaType": OCI_IMAGE, "platform": {"os": "unknown", "architecture": "unknown"},
                 "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
                {"digest": digest('c'), "mediaType": OCI_IMAGE, "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"},
            ]))))
            .manifest(Ok(manifest(serde_json::json!([
                {"digest": digest('2'), "mediaType": OCI_IMAGE, "platform": {"os": "linux", "architecture": "arm64"}},
            ]))));
        let images = run(&api).await.expect("two platforms");
        let got: Vec<_> = images
            .iter()
            .map(|i| {
                (
                    i.platform.clone().unwrap(),
                    i.digest.clone().unwrap(),
                    i.index_digest.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("linux/amd64".to_string(), digest('1'), Some(digest('e'))),
                ("linux/arm64".to_string(), digest('2'), Some(digest('e'))),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_malformed_entry_digest_is_exit_4_and_an_index_with_nothing_to_gate_is_exit_3() {
        let api = Scripted::new()
            .describe(Ok(detail('e', OCI_INDEX)))
            .manifest(Ok(manifest(serde_json::json!([
                {"digest": "sha256:../../etc", "platform": {"os": "linux", "architecture": "amd64"}},
            ]))));
        assert_eq!(run(&api).await.unwrap_err().exit_code(), 4);

        let api = Scripted::new()
            .describe(Ok(detail('e', OCI_INDEX)))
            .manifest(Ok(manifest(serde_json::json!([
                {"digest": digest('a'), "platform": {"os": "unknown", "architecture": "unknown"}},
            ]))));
        let e = run(&api).await.unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.message().contains("no runnable image"), "{e}");
    }
}
