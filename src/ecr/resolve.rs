//! Tag → digest, once (`DescribeImages`), and a multi-arch image index → one image per
//! platform (`BatchGetImage` reads the index). Everything after this uses digests, so a tag
//! that moves while we wait cannot change what is judged.

use serde::Deserialize;

use super::api::ScanApi;
use crate::findings::{Image, ImageError};

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// The image(s) `base` names: itself with its digest, or each platform image of an index.
pub async fn resolve<A: ScanApi>(api: &A, base: &Image) -> Result<Vec<Image>, ImageError> {
    let detail = api
        .describe_image(base)
        .await
        .map_err(|e| e.into_image_error("ecr:DescribeImages", base))?;
    tracing::debug!(image = %base, digest = %detail.digest, "resolved");
    let resolved = Image {
        digest: Some(detail.digest),
        registry_id: base.registry_id.clone().or(detail.registry_id),
        ..base.clone()
    };
    if !INDEX_TYPES.contains(&detail.media_type.as_deref().unwrap_or("")) {
        return Ok(vec![resolved]);
    }
    platforms(api, resolved).await
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    digest: String,
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

/// Each platform image of an index has its own scan; attestation manifests (buildx marks them
/// `unknown/unknown`) are not images and have none.
async fn platforms<A: ScanApi>(api: &A, index: Image) -> Result<Vec<Image>, ImageError> {
    let what = index.to_string();
    let manifest = api
        .manifest(&index, &INDEX_TYPES)
        .await
        .map_err(|e| e.into_image_error("ecr:BatchGetImage", &index))?;
    let parsed: Index = serde_json::from_str(&manifest.body).map_err(|e| {
        ImageError::aws(format!(
            "the image index {what} is not a valid index manifest: {e}"
        ))
    })?;
    let index_digest = index.digest.clone();
    let images: Vec<Image> = parsed
        .manifests
        .into_iter()
        .filter(|m| {
            m.annotations
                .get("vnd.docker.reference.type")
                .is_none_or(|t| t != "attestation-manifest")
        })
        .filter_map(|m| {
            // An entry without a platform is still an image: gate it rather than skip it.
            let platform = match m.platform {
                Some(p) if p.os == "unknown" && p.architecture == "unknown" => return None,
                Some(p) => [Some(p.os), Some(p.architecture), p.variant]
                    .into_iter()
                    .flatten()
                    .map(|part| platform_part(&part))
                    .collect::<Vec<_>>()
                    .join("/"),
                None => "unspecified".to_string(),
            };
            Some(Image {
                digest: Some(m.digest),
                platform: Some(platform),
                index_digest: index_digest.clone(),
                ..index.clone()
            })
        })
        .collect();
    if images.is_empty() {
        return Err(ImageError::aws(format!(
            "the image index {what} lists no platform images to gate"
        )));
    }
    tracing::debug!(index = %what, platforms = images.len(), "multi-arch index");
    Ok(images)
}
