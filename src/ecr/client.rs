//! The ECR client: region, profile, endpoint and retry settings from flags over the standard
//! AWS configuration chain. One client per region, since full image URIs can name several.

use std::collections::BTreeMap;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_ecr::Client;

use crate::image_ref::ImageRef;

#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub registry_id: Option<String>,
    pub endpoint_url: Option<String>,
    pub max_attempts: u32,
}

#[derive(Clone)]
pub struct RegionClient {
    pub client: Client,
    pub region: String,
    registry_id: Option<String>,
}

impl RegionClient {
    /// The URI's registry first (already checked against `--registry-id`), then the flag; ECR
    /// defaults to the caller's own account when neither is given.
    pub fn registry_id(&self, reference: &ImageRef) -> Option<String> {
        reference
            .registry_id
            .clone()
            .or_else(|| self.registry_id.clone())
    }
}

pub struct Clients {
    by_region: BTreeMap<String, RegionClient>,
    default_region: Option<String>,
}

impl Clients {
    pub async fn new(settings: &AwsSettings, refs: &[ImageRef]) -> Result<Self, String> {
        let mut regions: Vec<Option<String>> = refs
            .iter()
            .map(|r| r.region.clone().or_else(|| settings.region.clone()))
            .collect();
        regions.sort();
        regions.dedup();
        let mut by_region = BTreeMap::new();
        let mut default_region = None;
        for region in regions {
            let client = build(settings, region.clone()).await?;
            if region.is_none() {
                default_region = Some(client.region.clone());
            }
            by_region.insert(region.unwrap_or_else(|| client.region.clone()), client);
        }
        Ok(Clients {
            by_region,
            default_region,
        })
    }

    pub fn for_ref(&self, reference: &ImageRef) -> RegionClient {
        let region = reference
            .region
            .clone()
            .or_else(|| self.default_region.clone());
        let key = region
            .or_else(|| self.by_region.keys().next().cloned())
            .unwrap_or_default();
        self.by_region
            .get(&key)
            .or_else(|| self.by_region.values().next())
            .cloned()
            .expect("a client per region")
    }
}

async fn build(settings: &AwsSettings, region: Option<String>) -> Result<RegionClient, String> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_attempt_timeout(std::time::Duration::from_secs(60))
                .build(),
        );
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region.clone() {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    let region = config.region().map(|r| r.to_string()).filter(|r| !r.trim().is_empty()).ok_or_else(|| {
        "no AWS region: pass --region, set AWS_REGION (or a profile region), or use a full image URI".to_string()
    })?;
    tracing::debug!(%region, endpoint = settings.endpoint_url.as_deref().unwrap_or("default"), "ECR client ready");
    Ok(RegionClient {
        client: Client::new(&config),
        region,
        registry_id: settings.registry_id.clone(),
    })
}
