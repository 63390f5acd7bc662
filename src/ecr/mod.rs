//! The live steps, in flow order: [`resolve`] a reference to its digest (and platforms), [`wait`]
//! until its scan is usable, [`fetch`] every page of findings, and after a pass [`promote`]
//! the judged digests under new tags. Each step is a plain loop over
//! the [`ScanApi`] seam ([`api`]); [`sdk`] implements it with the AWS SDK and is the only code
//! that imports `aws_sdk_ecr`; [`adaptive`] limits the calls in flight to what ECR's rate
//! quota allows. The output is the project's own [`ScannedImage`], exactly what
//! the offline reader produces.

pub mod adaptive;
pub mod api;
pub mod audit;
pub mod fetch;
pub mod promote;
pub mod resolve;
pub mod retry;
pub mod sdk;
pub mod wait;

#[cfg(test)]
mod scripted;

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

pub use adaptive::{Adaptive, CallLimit, Limits};
pub use api::ScanApi;

use crate::findings::{Image, ImageError, ScanKind, ScannedImage, Source};
use crate::image_ref::{Reference, Selector};
use api::RegistryScanning;

/// How long and how often to wait for a scan.
#[derive(Clone, Debug)]
pub struct WaitSettings {
    /// `--timeout`: when to give up on a usable scan, counted once from the start of the run.
    pub timeout: Duration,
    /// `--poll-interval`: the first delay between polls; backoff doubles it.
    pub poll_interval: Duration,
    /// `--max-poll-interval`: the longest delay between polls.
    pub max_poll_interval: Duration,
    /// `--scan-grace`: how long "scan not found" is retried, since scan on push registers late.
    pub scan_grace: Duration,
    /// `--settle`: under enhanced scanning, how long findings must stay the same (or the scan
    /// be complete) before they are judged; zero judges the first usable answer.
    pub settle: Duration,
    /// `--start-scan`: start a basic scan when none exists.
    pub start_scan: bool,
    /// Read the scan as it is now, once, and never wait (`audit` without `--wait`): a scan
    /// not usable yet, or none at all, is that image's error.
    pub once: bool,
}

/// `check` reads every finding; `wait` stops once the scan is usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Wait, then read every finding to judge.
    Check,
    /// Stop once the scan is usable; no findings are read.
    Wait,
}

/// Resolves, waits for and (in `Check` mode) fetches every image, each through the client of
/// its region, with at most the cap of `limits` ECR calls in flight per region, fewer while ECR
/// throttles ([`Adaptive`]). Results keep the order of `targets`; one
/// reference can yield several images (one per platform of a multi-arch index).
/// `registry_id` (`--registry-id`) applies where a reference names no registry. `deadline` is
/// the run's one `--timeout`, counted by the caller from the start of the run, so what it does
/// after the gate (a promotion) ends by the same deadline.
pub async fn gate<A: ScanApi>(
    targets: Vec<(Reference, A)>,
    registry_id: Option<String>,
    wait: &WaitSettings,
    deadline: Instant,
    mode: Mode,
    limits: &Limits,
) -> Vec<ScannedImage> {
    let mut scanning: HashMap<String, Option<RegistryScanning>> = HashMap::new();
    let mut tasks = Vec::with_capacity(targets.len());
    for (reference, api) in targets {
        let limit = limits.of(api.region());
        let api = Adaptive::sharing(api, limit);
        let base = base_image(&reference, registry_id.as_deref(), api.region());
        if !scanning.contains_key(api.region()) {
            // Throttling is retried briefly: a basic registry taken for enhanced costs a settle,
            // and a registry that never answers must not outlast --timeout.
            let bound = deadline.min(Instant::now() + Duration::from_secs(10));
            let answer = match retry::call(bound, "GetRegistryScanningConfiguration", || {
                api.registry_scanning()
            })
            .await
            {
                Ok(answer) => Some(answer),
                Err(e) => {
                    tracing::debug!(region = api.region(), error = %e, "cannot read the registry scanning configuration (IAM ecr:GetRegistryScanningConfiguration); treating the registry as enhanced, the safe side");
                    None
                }
            };
            scanning.insert(api.region().to_string(), answer);
        }
        let configured = configured_kind(scanning[api.region()].as_ref(), &base);
        // Not known (another registry, or a configuration that could not be read): taken as
        // enhanced. Waiting for findings to settle costs time, judging findings still arriving
        // costs a false pass.
        let kind = configured.unwrap_or(ScanKind::Enhanced);
        let source = Source::Ecr {
            reference: reference.original.clone(),
            placements: Vec::new(),
        };
        let mut wait = wait.clone();
        if wait.start_scan && configured == Some(ScanKind::Enhanced) {
            // ECR refuses on-demand scans there ("This feature is disabled"): not asking spares a
            // call whose only answer is a refusal. Only a registry known to be enhanced skips it;
            // an assumed one is asked, and a refusal gets its own message (`wait::start_scan`).
            tracing::info!(image = %base, "--start-scan does not apply: the registry scans with enhanced scanning (Amazon Inspector), which scans images on its own; waiting for its scan without calling StartImageScan");
            wait.start_scan = false;
        }
        // Every image gets a task: a task waiting for its scan holds no call in flight.
        let task = {
            let (base, source) = (base.clone(), source.clone());
            tokio::spawn(
                async move { gate_one(&api, base, source, &wait, kind, deadline, mode).await },
            )
        };
        tasks.push((task, base, source));
    }
    let mut images = Vec::new();
    for (task, base, source) in tasks {
        match task.await {
            Ok(mut scanned) => images.append(&mut scanned),
            // A panicked task is a bug; it must still fail the gate, never vanish.
            Err(e) => images.push(ScannedImage::failed(
                base,
                source,
                None,
                ImageError::aws(format!("internal error while checking an image: {e}")),
            )),
        }
    }
    images
}

/// How ECR says the image's registry scans. ECR tells only the caller's own registry: for
/// another one, or a configuration that could not be read, nothing is known.
fn configured_kind(config: Option<&RegistryScanning>, image: &Image) -> Option<ScanKind> {
    config
        .filter(|c| image.registry_id.is_none() || image.registry_id == c.registry_id)
        .map(|c| c.kind)
}

/// The image a reference names before anything is resolved.
pub fn base_image(reference: &Reference, registry_id: Option<&str>, region: &str) -> Image {
    let (tag, digest) = match &reference.selector {
        Selector::Tag(t) => (Some(t.clone()), None),
        Selector::Digest(d) => (reference.pinned_tag.clone(), Some(d.clone())),
    };
    Image {
        repository: reference.repository.clone(),
        // The URI's registry first (already checked against `--registry-id`), then the flag;
        // ECR defaults to the caller's own account when neither is given.
        registry_id: reference
            .registry_id
            .clone()
            .or_else(|| registry_id.map(str::to_string)),
        region: Some(region.to_string()),
        tag,
        digest,
        platform: None,
        index_digest: None,
    }
}

async fn gate_one<A: ScanApi>(
    api: &A,
    base: Image,
    source: Source,
    wait: &WaitSettings,
    kind: ScanKind,
    deadline: Instant,
    mode: Mode,
) -> Vec<ScannedImage> {
    let targets = match resolve::resolve(api, &base, wait.scan_grace, deadline).await {
        Ok(targets) => targets,
        Err(error) => return vec![ScannedImage::failed(base, source, None, error)],
    };
    let mut images = Vec::with_capacity(targets.len());
    for image in targets {
        images.push(scan_one(api, image, source.clone(), wait, kind, deadline, mode).await);
    }
    images
}

async fn scan_one<A: ScanApi>(
    api: &A,
    image: Image,
    source: Source,
    wait: &WaitSettings,
    kind: ScanKind,
    deadline: Instant,
    mode: Mode,
) -> ScannedImage {
    let mut moved_before: Option<fetch::Moved> = None;
    loop {
        let first = match wait::until_usable(api, &image, wait, kind, deadline).await {
            Ok(page) => page,
            Err(wait::WaitError { error, scan }) => {
                return ScannedImage::failed(image, source, scan, error)
            }
        };
        if mode == Mode::Wait {
            return ScannedImage::with_findings(
                image,
                source,
                first.scan,
                crate::findings::Findings::new(),
                None,
            );
        }
        let scan = first.scan.clone();
        match fetch::all_findings(api, &image, first, deadline).await {
            Ok(Ok(all)) => {
                return ScannedImage::with_findings(
                    image,
                    source,
                    all.scan,
                    all.findings,
                    Some(&all.counts),
                )
            }
            // The scan moved under the read: wait for a usable, settled answer again, once.
            Ok(Err(moved)) if moved_before.is_none() => {
                tracing::warn!(image = %image, "the scan changed to {} on page {} while its findings were read; reading them again", moved.to, moved.page);
                moved_before = Some(moved);
            }
            Ok(Err(moved)) => {
                let error = ImageError::aws(format!(
                    "the scan of {image} changed again (to {} on page {}) while its findings were read a second time: \
                     refusing to judge a partial read",
                    moved.to, moved.page
                ));
                return ScannedImage::failed(image, source, Some(scan), error);
            }
            Err(error) => return ScannedImage::failed(image, source, Some(scan), error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::api::{ImageDetail, Manifest};
    use super::scripted::{page, Scripted};
    use super::*;

    fn settings() -> WaitSettings {
        WaitSettings {
            timeout: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            max_poll_interval: Duration::from_secs(5),
            scan_grace: Duration::from_secs(10),
            settle: Duration::ZERO,
            start_scan: false,
            once: false,
        }
    }

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    async fn run(api: &Scripted, reference: &str, mode: Mode) -> Vec<ScannedImage> {
        run_with(api, reference, &settings(), mode).await
    }

    async fn run_with(
        api: &Scripted,
        reference: &str,
        wait: &WaitSettings,
        mode: Mode,
    ) -> Vec<ScannedImage> {
        let reference = crate::image_ref::parse(reference).unwrap();
        let deadline = Instant::now() + wait.timeout;
        gate(
            vec![(reference, api.clone())],
            None,
            wait,
            deadline,
            mode,
            &Limits::new(4),
        )
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn a_tag_is_resolved_once_and_everything_after_uses_the_digest() {
        let api = Scripted::new()
            .scan_type(Ok(ScanKind::Basic))
            .describe(Ok(ImageDetail {
                digest: digest('d'),
                registry_id: Some("123456789012".into()),
                media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
            }))
            .page(Ok(page("IN_PROGRESS", "x", 0, None)))
            .page(Ok(page("COMPLETE", "x", 2, Some("t"))))
            .page(Ok(page("COMPLETE", "y", 1, None)));
        let images = run(&api, "app/web:v1", Mode::Check).await;
        assert_eq!(images.len(), 1);
        let image = &images[0];
        assert_eq!(image.findings.as_ref().map(Vec::len), Ok(3));
        assert_eq!(image.image.tag.as_deref(), Some("v1"));
        assert_eq!(image.image.digest, Some(digest('d')));
        assert_eq!(image.image.registry_id.as_deref(), Some("123456789012"));
        assert_eq!(api.count("describe_image"), 1);
        let polls: Vec<String> = api
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("findings_page"))
            .collect();
        assert_eq!(polls.len(), 3);
        assert!(
            polls.iter().all(|c| c.contains(&digest('d'))),
            "every call after resolving names the digest: {polls:?}"
        );
    }

    fn plain() -> ImageDetail {
        ImageDetail {
            digest: digest('d'),
            registry_id: None,
            media_type: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_scan_that_moves_mid_read_is_waited_for_again_once_then_is_exit_4() {
        let api = Scripted::new()
            .scan_type(Ok(ScanKind::Basic))
            .describe(Ok(plain()))
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Ok(page("ACTIVE", "p2", 1, None)))
            .page(Ok(page("ACTIVE", "q1", 2, Some("u1"))))
            .page(Ok(page("ACTIVE", "q2", 1, None)));
        let images = run(&api, "app/web:v1", Mode::Check).await;
        let ids: Vec<String> = images[0]
            .findings
            .as_ref()
            .unwrap()
            .iter()
            .map(|f| f.id().to_string())
            .collect();
        assert_eq!(
            ids,
            ["q1-0", "q1-1", "q2-0"],
            "only the second, whole read counts"
        );

        let api = Scripted::new()
            .scan_type(Ok(ScanKind::Basic))
            .describe(Ok(plain()))
            .page(Ok(page("COMPLETE", "p1", 1, Some("t1"))))
            .page(Ok(page("ACTIVE", "p2", 1, None)))
            .page(Ok(page("ACTIVE", "q1", 1, Some("u1"))))
            .page(Ok(page("COMPLETE", "q2", 1, None)));
        let images = run(&api, "app/web:v1", Mode::Check).await;
        let Err(e) = &images[0].findings else {
            panic!("a second move is refused")
        };
        assert_eq!(e.exit_code(), 4);
        assert!(e.message().contains("changed again"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_page_read_again_after_a_move_must_settle_again() {
        // Enhanced: settled at first (completed long ago), then the scan moves and the new
        // first page is Inspector's "nothing delivered yet": never judged as clean.
        let mut settled = page("COMPLETE", "p1", 1, Some("t1"));
        settled.basic_list = false;
        settled.enhanced_list = true;
        settled.scan.completed_at = Some("2020-01-01T00:00:00.000Z".into());
        let mut moved = page("ACTIVE", "p2", 1, None);
        moved.enhanced_list = true;
        let mut undelivered = page("ACTIVE", "x", 0, None);
        undelivered.counts.clear();
        let api = Scripted::new()
            .scan_type(Ok(ScanKind::Enhanced))
            .describe(Ok(plain()))
            .page(Ok(settled))
            .page(Ok(moved))
            .page(Ok(undelivered));
        let reference = crate::image_ref::parse("app/web:v1").unwrap();
        let wait = WaitSettings {
            settle: Duration::from_secs(30),
            ..settings()
        };
        let deadline = Instant::now() + wait.timeout;
        let images = gate(
            vec![(reference, api)],
            None,
            &wait,
            deadline,
            Mode::Check,
            &Limits::new(1),
        )
        .await;
        let Err(e) = &images[0].findings else {
            panic!("not delivered is never a clean image")
        };
        assert_eq!(e.exit_code(), 3, "{e}");
    }

    fn start_scan() -> WaitSettings {
        WaitSettings {
            start_scan: true,
            ..settings()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn start_scan_is_never_asked_of_a_registry_known_to_scan_enhanced() {
        let api = Scripted::new()
            .scan_type(Ok(ScanKind::Enhanced))
            .describe(Ok(plain()))
            .page(Err(super::scripted::service("ScanNotFoundException")))
            .page(Ok(page("COMPLETE", "x", 1, None)));
        let images = run_with(&api, "app/web:v1", &start_scan(), Mode::Check).await;
        assert_eq!(
            images[0].findings.as_ref().map(Vec::len),
            Ok(1),
            "Inspector's scan is waited for"
        );
        assert_eq!(api.count("start_scan"), 0, "{:?}", api.calls());
    }

    #[tokio::test(start_paused = true)]
    async fn start_scan_refused_where_the_scan_type_is_unknown_says_enhanced_scanning() {
        let disabled = super::api::ApiError::Service {
            code: "ValidationException".into(),
            message: "This feature is disabled".into(),
            status: 400,
        };
        let api = Scripted::new()
            .scan_type(Err(super::scripted::service("AccessDeniedException")))
            .describe(Ok(plain()))
            .page(Err(super::scripted::service("ScanNotFoundException")))
            .start(Err(disabled));
        let images = run_with(&api, "app/web:v1", &start_scan(), Mode::Check).await;
        let Err(e) = &images[0].findings else {
            panic!("refused")
        };
        assert_eq!(e.exit_code(), 3, "{e}");
        assert!(
            e.message().contains("enhanced scanning (Amazon Inspector)"),
            "{e}"
        );
        assert_eq!(api.count("start_scan"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_mode_reads_only_the_first_page() {
        let api = Scripted::new()
            .scan_type(Ok(ScanKind::Basic))
            .describe(Ok(ImageDetail {
                digest: digest('d'),
                registry_id: None,
                media_type: None,
            }))
            .page(Ok(page("COMPLETE", "x", 2, Some("t"))));
        let images = run(&api, "app/web", Mode::Wait).await;
        assert_eq!(images[0].findings.as_ref().map(Vec::len), Ok(0));
        assert_eq!(api.count("findings_page"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_multi_arch_index_is_one_image_per_platform_without_attestations() {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [
                {"digest": digest('1'), "platform": {"os": "linux", "architecture": "amd64"}},
                {"digest": digest('2'), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"digest": digest('3'), "platform": {"os": "unknown", "architecture": "unknown"}},
            ]
        });
        let api = Scripted::new()
            .scan_type(Ok(ScanKind::Basic))
            .describe(Ok(ImageDetail {
                digest: digest('i'),
                registry_id: None,
                media_type: Some("application/vnd.oci.image.index.v1+json".into()),
            }))
            .manifest(Ok(Manifest {
                body: index.to_string(),
                media_type: None,
            }))
            .page(Ok(page("COMPLETE", "x", 1, None)));
        let images = run(&api, "app/web:v1", Mode::Check).await;
        let platforms: Vec<_> = images
            .iter()
            .map(|i| {
                (
                    i.image.platform.clone().unwrap(),
                    i.image.digest.clone().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            platforms,
            [
                ("linux/amd64".to_string(), digest('1')),
                ("linux/arm64/v8".to_string(), digest('2'))
            ]
        );
        assert!(images
            .iter()
            .all(|i| i.image.index_digest == Some(digest('i'))));
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicked_image_task_fails_the_gate_and_keeps_its_reference() {
        // No scripted answer to describe: the scripted client panics inside the task.
        let api = Scripted::new().scan_type(Ok(ScanKind::Basic));
        let images = run(&api, "app/web:v1", Mode::Check).await;
        assert_eq!(images.len(), 1);
        let image = &images[0];
        assert_eq!(image.image.repository, "app/web");
        assert_eq!(image.image.tag.as_deref(), Some("v1"));
        let Err(error) = &image.findings else {
            panic!("an error")
        };
        assert_eq!(error.exit_code(), 4);
        assert!(
            matches!(&image.source, Source::Ecr { reference, .. } if reference == "app/web:v1")
        );
    }
}
