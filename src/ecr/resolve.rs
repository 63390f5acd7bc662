//! Tag → digest, once (DescribeImages), and a multi-arch image index → one image per platform
//! (BatchGetImage reads the index). Everything after this uses digests, so a tag that moves
//! while we wait cannot change what is judged.

use aws_sdk_ecr::types::ImageIdentifier;
use serde::Deserialize;

use super::client::RegionClient;
use super::errors::CallError;
use crate::findings::{ImageError, ImageId};

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

pub fn identifier(image: &ImageId) -> ImageIdentifier {
    match (&image.digest, &image.tag) {
        (Some(digest), _) => ImageIdentifier::builder().image_digest(digest).build(),
        (None, tag) => ImageIdentifier::builder()
            .image_tag(tag.as_deref().unwrap_or("latest"))
            .build(),
    }
}

pub fn describe(image: &ImageId) -> String {
    format!("{image}")
}

pub async fn resolve(client: &RegionClient, base: &ImageId) -> Result<Vec<ImageId>, ImageError> {
    let output = client
        .client
        .describe_images()
        .repository_name(&base.repository)
        .set_registry_id(base.registry_id.clone())
        .image_ids(identifier(base))
        .send()
        .await
        .map_err(|e| {
            CallError::from_sdk(e).into_image_error("ecr:DescribeImages", &describe(base))
        })?;
    let detail = output.image_details().first().ok_or_else(|| {
        ImageError::aws(format!(
            "ecr:DescribeImages returned no image for {}: an empty answer is never a pass",
            describe(base)
        ))
    })?;
    let digest = detail.image_digest().ok_or_else(|| {
        ImageError::aws(format!(
            "ecr:DescribeImages returned an image without a digest for {}",
            describe(base)
        ))
    })?;
    tracing::debug!(image = %base, %digest, "resolved");
    let resolved = ImageId {
        digest: Some(digest.to_string()),
        registry_id: base
            .registry_id
            .clone()
            .or_else(|| detail.registry_id().map(str::to_string)),
        ..base.clone()
    };
    let media_type = detail
        .image_manifest_media_type()
        .or(detail.artifact_media_type())
        .unwrap_or("");
    if !INDEX_TYPES.contains(&media_type) {
        return Ok(vec![resolved]);
    }
    platforms(client, resolved).await
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
async fn platforms(client: &RegionClient, index: ImageId) -> Result<Vec<ImageId>, ImageError> {
    let what = describe(&index);
    let output = client
        .client
        .batch_get_image()
        .repository_name(&index.repository)
        .set_registry_id(index.registry_id.clone())
        .image_ids(identifier(&index))
        .set_accepted_media_types(Some(INDEX_TYPES.iter().map(|s| s.to_string()).collect()))
        .send()
        .await
        .map_err(|e| CallError::from_sdk(e).into_image_error("ecr:BatchGetImage", &what))?;
    if let Some(failure) = output.failures().first() {
        return Err(ImageError::aws(format!(
            "ecr:BatchGetImage failed for {what}: {} {}",
            failure
                .failure_code()
                .map(|c| c.as_str())
                .unwrap_or("unknown failure"),
            failure.failure_reason().unwrap_or("")
        )));
    }
    let manifest = output
        .images()
        .first()
        .and_then(|i| i.image_manifest())
        .ok_or_else(|| {
            ImageError::aws(format!(
                "ecr:BatchGetImage returned no manifest for the image index {what}"
            ))
        })?;
    let parsed: Index = serde_json::from_str(manifest).map_err(|e| {
        ImageError::aws(format!(
            "the image index {what} is not a valid index manifest: {e}"
        ))
    })?;
    let index_digest = index.digest.clone();
    let images: Vec<ImageId> = parsed
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
            Some(ImageId {
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
