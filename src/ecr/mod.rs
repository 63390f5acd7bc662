//! Everything that talks to Amazon ECR, and the only code that imports `aws_sdk_ecr`: building
//! the client ([`client`]), resolving references to digests and platforms ([`resolve`]),
//! waiting for a usable scan ([`wait`]) and reading every page of findings ([`fetch`]). Its
//! output is the project's own [`ScannedImage`], exactly what the offline reader produces.

mod client;
mod errors;
mod fetch;
mod resolve;
pub mod wait;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::findings::{ImageError, ImageId, ScannedImage, Source};
use crate::image_ref::{ImageRef, Selector};

pub use client::AwsSettings;

/// How long and how often to wait for a scan.
#[derive(Clone, Debug)]
pub struct WaitSettings {
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub max_poll_interval: Duration,
    pub scan_grace: Duration,
    pub start_scan: bool,
}

/// `check` reads every finding; `wait` stops once the scan is usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Check,
    Wait,
}

/// Resolves, waits for and (in `Check` mode) fetches every image, at most `concurrency` at
/// once. Results keep the order of `refs`; one reference can yield several images (one per
/// platform of a multi-arch index). `Err` is a configuration problem found before any call.
pub async fn gate(
    refs: Vec<ImageRef>,
    aws: &AwsSettings,
    wait: &WaitSettings,
    mode: Mode,
    concurrency: usize,
) -> Result<Vec<ScannedImage>, String> {
    let clients = client::Clients::new(aws, &refs).await?;
    let deadline = Instant::now() + wait.timeout;
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(refs.len());
    for reference in refs {
        let client = clients.for_ref(&reference);
        let wait = wait.clone();
        let semaphore = semaphore.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            gate_one(&client, &reference, &wait, deadline, mode).await
        }));
    }
    let mut images = Vec::new();
    for task in tasks {
        match task.await {
            Ok(mut scanned) => images.append(&mut scanned),
            // A panicked task is a bug; it must still fail the gate, never vanish.
            Err(e) => images.push(ScannedImage::failed(
                ImageId::default(),
                Source::Ecr {
                    reference: String::new(),
                },
                None,
                ImageError::aws(format!("internal error while checking an image: {e}")),
            )),
        }
    }
    Ok(images)
}

async fn gate_one(
    client: &client::RegionClient,
    reference: &ImageRef,
    wait: &WaitSettings,
    deadline: Instant,
    mode: Mode,
) -> Vec<ScannedImage> {
    let source = Source::Ecr {
        reference: reference.original.clone(),
    };
    let base = ImageId {
        repository: reference.repository.clone(),
        registry_id: client.registry_id(reference),
        region: Some(client.region.clone()),
        tag: match &reference.selector {
            Selector::Tag(t) => Some(t.clone()),
            Selector::Digest(_) => None,
        },
        digest: match &reference.selector {
            Selector::Digest(d) => Some(d.clone()),
            Selector::Tag(_) => None,
        },
        platform: None,
        index_digest: None,
    };
    let targets = match resolve::resolve(client, &base).await {
        Ok(targets) => targets,
        Err(error) => return vec![ScannedImage::failed(base, source, None, error)],
    };
    let mut images = Vec::with_capacity(targets.len());
    for image in targets {
        images.push(scan_one(client, image, source.clone(), wait, deadline, mode).await);
    }
    images
}

async fn scan_one(
    client: &client::RegionClient,
    image: ImageId,
    source: Source,
    wait: &WaitSettings,
    deadline: Instant,
    mode: Mode,
) -> ScannedImage {
    let first = match wait::until_usable(client, &image, wait, deadline).await {
        Ok(page) => page,
        Err(wait::WaitError { error, scan }) => {
            return ScannedImage::failed(image, source, scan, error)
        }
    };
    match mode {
        Mode::Wait => ScannedImage::read(image, source, first.scan, Vec::new(), None),
        Mode::Check => match fetch::all_findings(client, &image, first).await {
            Ok(read) => {
                ScannedImage::read(image, source, read.scan, read.findings, Some(&read.counts))
            }
            Err(error) => ScannedImage::failed(image, source, None, error),
        },
    }
}
