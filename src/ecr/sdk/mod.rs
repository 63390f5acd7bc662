//! The AWS SDK behind [`ScanApi`], and the only code that imports `aws_sdk_ecr`: building the
//! client ([`client`]), each call, SDK errors into [`ApiError`] ([`errors`]), SDK finding
//! types into the shared finding records ([`convert`]) and ECR's clock from an answer's `Date`
//! header ([`date`]).

mod client;
mod convert;
mod date;
mod errors;

use aws_sdk_ecr::config::retry::RetryConfig;
use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, ScanType, TagStatus};
use aws_sdk_ecr::Client;

pub use client::{build, AwsSettings, Clients};

use super::api::{
    ApiError, FindingsPage, ImageDetail, ImageSummary, Listing, Manifest, RegistryScanning,
    ScanApi, MANIFEST_TYPES,
};
use crate::findings::{Image, ScanKind};

/// Basic scans accept up to 1000 per page; enhanced ones return at most 100 whatever we ask.
const PAGE_SIZE: i32 = 1000;

/// The SDK client of one region.
#[derive(Clone)]
pub struct SdkScanApi {
    client: Client,
    region: String,
    /// The config chain's provider, kept for [`SdkScanApi::credentials`]: the client's own
    /// config no longer hands it out.
    credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
}

impl SdkScanApi {
    /// Whether the credential chain yields credentials now (the webhook's readiness). The
    /// error names the problem, never a key.
    pub async fn credentials(&self) -> Result<(), String> {
        use aws_credential_types::provider::ProvideCredentials;
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| "no AWS credential provider is configured".to_string())?;
        provider
            .provide_credentials()
            .await
            .map(|_| ())
            .map_err(|e| format!("no AWS credentials yet: {e}"))
    }
}

/// The SDK's name for an image: the digest when known, else the tag (`latest` by default).
fn identifier(image: &Image) -> ImageIdentifier {
    match (&image.digest, &image.tag) {
        (Some(digest), _) => ImageIdentifier::builder().image_digest(digest).build(),
        (None, tag) => ImageIdentifier::builder()
            .image_tag(tag.as_deref().unwrap_or("latest"))
            .build(),
    }
}

impl ScanApi for SdkScanApi {
    async fn describe_image(&self, image: &Image) -> Result<ImageDetail, ApiError> {
        let output = self
            .client
            .describe_images()
            .repository_name(&image.repository)
            .set_registry_id(image.registry_id.clone())
            .image_ids(identifier(image))
            .send()
            .await
            .map_err(errors::from_sdk)?;
        let detail = output.image_details().first().ok_or_else(|| {
            ApiError::BadAnswer(format!(
                "ecr:DescribeImages returned no image for {image}: an empty answer is never a pass"
            ))
        })?;
        let digest = detail.image_digest().ok_or_else(|| {
            ApiError::BadAnswer(format!(
                "ecr:DescribeImages returned an image without a digest for {image}"
            ))
        })?;
        Ok(ImageDetail {
            digest: digest.to_string(),
            registry_id: detail.registry_id().map(str::to_string),
            media_type: detail
                .image_manifest_media_type()
                .or(detail.artifact_media_type())
                .map(str::to_string),
        })
    }

    async fn findings_page(
        &self,
        image: &Image,
        token: Option<&str>,
    ) -> Result<FindingsPage, ApiError> {
        // The answer's Date header: the settle rule ages ECR's completedAt on ECR's own clock.
        let server_date = date::ServerDate::default();
        let output = self
            .client
            .describe_image_scan_findings()
            .repository_name(&image.repository)
            .set_registry_id(image.registry_id.clone())
            .image_id(identifier(image))
            .max_results(PAGE_SIZE)
            .set_next_token(token.map(str::to_string))
            .customize()
            .interceptor(server_date.clone())
            .send()
            .await
            .map_err(errors::from_sdk)?;
        convert::findings_page(output, image, server_date.take())
    }

    async fn manifest(&self, image: &Image) -> Result<Manifest, ApiError> {
        let output = self
            .client
            .batch_get_image()
            .repository_name(&image.repository)
            .set_registry_id(image.registry_id.clone())
            .image_ids(identifier(image))
            .set_accepted_media_types(Some(MANIFEST_TYPES.iter().map(|s| s.to_string()).collect()))
            .send()
            .await
            .map_err(errors::from_sdk)?;
        if let Some(failure) = output.failures().first() {
            return Err(ApiError::BadAnswer(format!(
                "ecr:BatchGetImage failed for {image}: {} {}",
                failure
                    .failure_code()
                    .map(|c| c.as_str())
                    .unwrap_or("unknown failure"),
                failure.failure_reason().unwrap_or("")
            )));
        }
        let found = output.images().first();
        let body = found.and_then(|i| i.image_manifest()).ok_or_else(|| {
            ApiError::BadAnswer(format!(
                "ecr:BatchGetImage returned no manifest for {image}: an empty answer is never a pass"
            ))
        })?;
        Ok(Manifest {
            body: body.to_string(),
            media_type: found
                .and_then(|i| i.image_manifest_media_type())
                .map(str::to_string),
        })
    }

    async fn put_image(
        &self,
        image: &Image,
        tag: &str,
        manifest: &Manifest,
    ) -> Result<(), ApiError> {
        self.client
            .put_image()
            .repository_name(&image.repository)
            .set_registry_id(image.registry_id.clone())
            .image_tag(tag)
            .image_manifest(&manifest.body)
            .set_image_manifest_media_type(manifest.media_type.clone())
            .set_image_digest(image.digest.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(errors::from_sdk)
    }

    async fn start_scan(&self, image: &Image) -> Result<(), ApiError> {
        self.client
            .start_image_scan()
            .repository_name(&image.repository)
            .set_registry_id(image.registry_id.clone())
            .image_id(identifier(image))
            .customize()
            .config_override(
                aws_sdk_ecr::config::Config::builder().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(errors::from_sdk)
    }

    async fn registry_scanning(&self) -> Result<RegistryScanning, ApiError> {
        let output = self
            .client
            .get_registry_scanning_configuration()
            .send()
            .await
            .map_err(errors::from_sdk)?;
        let kind = output
            .scanning_configuration()
            .and_then(|c| c.scan_type())
            .cloned();
        Ok(RegistryScanning {
            registry_id: output.registry_id().map(str::to_string),
            kind: match kind {
                Some(ScanType::Basic) => ScanKind::Basic,
                // Enhanced, or a value added later: the side that waits for findings to settle.
                _ => ScanKind::Enhanced,
            },
        })
    }

    async fn repositories(
        &self,
        registry_id: Option<&str>,
        token: Option<&str>,
    ) -> Result<Listing<String>, ApiError> {
        let output = self
            .client
            .describe_repositories()
            .set_registry_id(registry_id.map(str::to_string))
            .set_next_token(token.map(str::to_string))
            .max_results(1000)
            .send()
            .await
            .map_err(errors::from_sdk)?;
        Ok(Listing {
            items: output
                .repositories()
                .iter()
                .filter_map(|r| r.repository_name().map(str::to_string))
                .collect(),
            next_token: output.next_token().map(str::to_string),
        })
    }

    async fn tagged_images(
        &self,
        registry_id: Option<&str>,
        repository: &str,
        token: Option<&str>,
    ) -> Result<Listing<ImageSummary>, ApiError> {
        let output = self
            .client
            .describe_images()
            .repository_name(repository)
            .set_registry_id(registry_id.map(str::to_string))
            .filter(
                DescribeImagesFilter::builder()
                    .tag_status(TagStatus::Tagged)
                    .build(),
            )
            .set_next_token(token.map(str::to_string))
            .max_results(1000)
            .send()
            .await
            .map_err(errors::from_sdk)?;
        let mut items = Vec::new();
        for detail in output.image_details() {
            let digest = detail.image_digest().ok_or_else(|| {
                ApiError::BadAnswer(format!(
                    "ecr:DescribeImages listed an image of {repository} without a digest"
                ))
            })?;
            items.push(ImageSummary {
                digest: digest.to_string(),
                tags: detail.image_tags().to_vec(),
                pushed_at: detail.image_pushed_at().map(|t| t.secs()),
            });
        }
        Ok(Listing {
            items,
            next_token: output.next_token().map(str::to_string),
        })
    }

    fn region(&self) -> &str {
        &self.region
    }
}
