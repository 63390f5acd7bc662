//! A review's images, judged as `check --images-from` judges them, but never waiting: each
//! tag is resolved afresh (`DescribeImages`), then the scan of that digest is read once, as it
//! is now, and kept for `--cache-ttl`. Reviews that need one digest at once share one read;
//! a read that ended in an error is not kept, so the next review asks ECR again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::metrics::{Counted, Metrics};
use crate::cli::NonEcr;
use crate::deploy::plan::Plan;
use crate::ecr::sdk::{AwsSettings, SdkScanApi};
use crate::ecr::{self, retry, Adaptive, Limits, Mode, ScanApi, WaitSettings};
use crate::evaluation::Evaluation;
use crate::findings::{Image, ImageError, ScannedImage, Source};
use crate::image_ref::{self, Reference, Selector};
use crate::policy::Policy;

/// Where one digest lives: ECR's name for an image.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    registry_id: Option<String>,
    region: String,
    repository: String,
    digest: String,
}

/// One digest's scan, read once by whichever review asked first.
struct Entry {
    read: OnceCell<Arc<Vec<ScannedImage>>>,
    born: Instant,
}

/// The policy, the clients and the cache every review shares.
pub struct Judge {
    policy: Policy,
    non_ecr: NonEcr,
    settings: AwsSettings,
    settle: Duration,
    ttl: Duration,
    limits: Limits,
    metrics: Metrics,
    default_client: SdkScanApi,
    /// Clients of other regions, built the first time an image names one.
    clients: tokio::sync::Mutex<HashMap<String, SdkScanApi>>,
    cache: Mutex<HashMap<Key, Arc<Entry>>>,
}

/// What a [`Judge`] is built from.
pub struct Setup {
    /// The resolved policy, `require_digest` included.
    pub policy: Policy,
    /// `--non-ecr`.
    pub non_ecr: NonEcr,
    /// `--region`, `--registry-id`, endpoint and attempts.
    pub settings: AwsSettings,
    /// `--settle`.
    pub settle: Duration,
    /// `--cache-ttl`.
    pub ttl: Duration,
    /// `--concurrency`: the cap of each region's adaptive limit.
    pub concurrency: usize,
    /// Where calls and cache use are counted.
    pub metrics: Metrics,
    /// The client of the default region.
    pub default_client: SdkScanApi,
}

impl Judge {
    /// Ready to judge.
    pub fn new(setup: Setup) -> Self {
        Judge {
            policy: setup.policy,
            non_ecr: setup.non_ecr,
            settings: setup.settings,
            settle: setup.settle,
            ttl: setup.ttl,
            limits: Limits::new(setup.concurrency),
            metrics: setup.metrics,
            default_client: setup.default_client,
            clients: tokio::sync::Mutex::default(),
            cache: Mutex::default(),
        }
    }

    /// The client of the default region, for readiness.
    pub fn default_client(&self) -> &SdkScanApi {
        &self.default_client
    }

    /// Judges every image of `plan`, ECR calls ending by `deadline`.
    pub async fn evaluate(self: &Arc<Self>, plan: &Plan, deadline: Instant) -> Evaluation {
        let mut reads = tokio::task::JoinSet::new();
        let lookups = plan.ecr_references();
        for (i, lookup) in lookups.iter().enumerate() {
            let (judge, lookup) = (self.clone(), lookup.clone());
            reads.spawn(async move { (i, judge.image(&lookup, deadline).await) });
        }
        let mut read: Vec<Option<Vec<ScannedImage>>> = vec![None; lookups.len()];
        while let Some(done) = reads.join_next().await {
            if let Ok((i, images)) = done {
                read[i] = Some(images);
            }
        }
        let mut images = Vec::new();
        for (lookup, got) in lookups.iter().zip(read) {
            // A read that panicked is a bug, and still never a pass.
            images.extend(
                got.unwrap_or_else(|| {
                    vec![failed(lookup, "reading the image stopped unexpectedly")]
                }),
            );
        }
        let images = crate::app::refuse_incomplete(&self.policy, images);
        let (images, notes) = crate::app::deployed::place(plan, images, self.non_ecr);
        let mut evaluation =
            crate::judge::evaluate(images, &self.policy, crate::timestamp::today_utc());
        evaluation.warnings.extend(notes);
        evaluation
    }

    /// One reference's images: the digest it names now, and that digest's scan.
    async fn image(&self, lookup: &str, deadline: Instant) -> Vec<ScannedImage> {
        let reference = match image_ref::parse(lookup) {
            Ok(reference) => reference,
            Err(e) => return vec![failed(lookup, &e)],
        };
        let api = match self.client(reference.region.as_deref()).await {
            Ok(api) => api,
            Err(e) => return vec![failed(lookup, &e)],
        };
        let limit = self.limits.of(api.region());
        let api = Adaptive::sharing(Counted::new(api, self.metrics.clone()), limit);
        let mut base = ecr::base_image(
            &reference,
            self.settings.registry_id.as_deref(),
            api.region(),
        );
        if base.digest.is_none() {
            // Every review: a tag that moved since the last one names another digest.
            match retry::call(deadline, "DescribeImages", || api.describe_image(&base)).await {
                Ok(detail) => {
                    base.digest = Some(detail.digest);
                    base.registry_id = base.registry_id.or(detail.registry_id);
                }
                Err(e) => {
                    let error = e.into_image_error("ecr:DescribeImages", &base);
                    return vec![ScannedImage::failed(base, source(lookup), None, error)];
                }
            }
        }
        let key = Key {
            registry_id: base.registry_id.clone(),
            region: api.region().to_string(),
            repository: base.repository.clone(),
            digest: base.digest.clone().unwrap_or_default(),
        };
        let entry = self.entry(&key);
        let mut read_here = false;
        let images = entry
            .read
            .get_or_init(|| {
                read_here = true;
                self.read(&reference, &base, api, deadline)
            })
            .await
            .clone();
        self.metrics.cache(!read_here);
        if images.iter().any(|i| i.findings.is_err()) {
            self.forget(&key, &entry);
        }
        // The cached read is by digest; this review named it its own way.
        images
            .iter()
            .map(|scanned| {
                let mut scanned = scanned.clone();
                scanned.image.tag = base.tag.clone();
                scanned.source = source(lookup);
                scanned
            })
            .collect()
    }

    /// The scan of `base` (resolved to its digest) as it is now.
    async fn read<A: ScanApi>(
        &self,
        reference: &Reference,
        base: &Image,
        api: Adaptive<A>,
        deadline: Instant,
    ) -> Arc<Vec<ScannedImage>> {
        let pinned = Reference {
            selector: Selector::Digest(base.digest.clone().unwrap_or_default()),
            pinned_tag: base.tag.clone(),
            registry_id: base.registry_id.clone(),
            ..reference.clone()
        };
        let wait = WaitSettings {
            timeout: deadline.saturating_duration_since(Instant::now()),
            poll_interval: Duration::from_millis(200),
            max_poll_interval: Duration::from_secs(1),
            scan_grace: Duration::ZERO,
            settle: self.settle,
            start_scan: false,
            once: true,
        };
        let images = ecr::gate(
            vec![(pinned, api)],
            self.settings.registry_id.clone(),
            &wait,
            deadline,
            Mode::Check,
            &self.limits,
        )
        .await;
        Arc::new(images)
    }

    /// The digest's entry, a fresh one when none is kept or it is older than the TTL.
    fn entry(&self, key: &Key) -> Arc<Entry> {
        let mut cache = self.cache.lock().expect("cache");
        let now = Instant::now();
        if cache.len() > 10_000 {
            // Bounded by age first: a cluster's images are far fewer than this.
            cache.retain(|_, e| now.saturating_duration_since(e.born) < self.ttl);
        }
        let fresh = cache
            .get(key)
            .filter(|e| now.saturating_duration_since(e.born) < self.ttl)
            .cloned();
        fresh.unwrap_or_else(|| {
            let entry = Arc::new(Entry {
                read: OnceCell::new(),
                born: now,
            });
            cache.insert(key.clone(), entry.clone());
            entry
        })
    }

    fn forget(&self, key: &Key, entry: &Arc<Entry>) {
        let mut cache = self.cache.lock().expect("cache");
        if cache.get(key).is_some_and(|kept| Arc::ptr_eq(kept, entry)) {
            cache.remove(key);
        }
    }

    async fn client(&self, region: Option<&str>) -> Result<SdkScanApi, String> {
        let Some(region) = region.filter(|r| *r != self.default_client.region()) else {
            return Ok(self.default_client.clone());
        };
        let mut clients = self.clients.lock().await;
        if let Some(api) = clients.get(region) {
            return Ok(api.clone());
        }
        let api = crate::ecr::sdk::build(&self.settings, Some(region.to_string())).await?;
        clients.insert(region.to_string(), api.clone());
        Ok(api)
    }
}

fn source(lookup: &str) -> Source {
    Source::Ecr {
        reference: lookup.to_string(),
        placements: Vec::new(),
    }
}

/// `lookup` could not even be asked about: its error, under its own name.
fn failed(lookup: &str, why: &str) -> ScannedImage {
    let image = Image {
        repository: lookup.to_string(),
        ..Default::default()
    };
    ScannedImage::failed(image, source(lookup), None, ImageError::aws(why))
}
