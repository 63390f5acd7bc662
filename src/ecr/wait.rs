//! The waiter: our own loop, because the SDK's generated waiter knows only COMPLETE and FAILED
//! (it times out on enhanced scanning's ACTIVE). Each poll is one DescribeImageScanFindings
//! call whose first page is kept for the fetch, with exponential backoff and jitter between
//! `--poll-interval` and `--max-poll-interval`, never sleeping past `--timeout`.

use std::time::{Duration, Instant};

use aws_sdk_ecr::config::retry::RetryConfig;
use backon::{BackoffBuilder, ExponentialBuilder};

use super::client::RegionClient;
use super::errors::CallError;
use super::fetch::{self, Page, PageError};
use super::resolve::{describe, identifier};
use super::WaitSettings;
use crate::findings::status::{classify, not_found_message, Usability};
use crate::findings::{ImageError, ImageId, ScanInfo};

/// Why waiting ended without a usable scan, with the last status seen for the reports.
pub struct WaitError {
    pub error: ImageError,
    pub scan: Option<ScanInfo>,
}

/// Delays between polls: doubling from the poll interval with up to 100% jitter, capped at the
/// max poll interval. `seed` makes the jitter repeatable for tests.
pub fn schedule(
    poll: Duration,
    max: Duration,
    seed: Option<u64>,
) -> impl Iterator<Item = Duration> {
    let mut builder = ExponentialBuilder::default()
        .with_min_delay(poll)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    if let Some(seed) = seed {
        builder = builder.with_jitter_seed(seed);
    }
    builder.build().map(move |d| d.clamp(poll, max.max(poll)))
}

/// The next sleep: the schedule's delay, but never past the deadline.
pub fn next_sleep(delay: Duration, now: Instant, deadline: Instant) -> Option<Duration> {
    let remaining = deadline
        .checked_duration_since(now)
        .filter(|r| !r.is_zero())?;
    Some(delay.min(remaining))
}

/// Polls until the scan is usable, an error status, or `deadline` (one `--timeout` for the
/// whole run, however many images and platforms share it).
pub async fn until_usable(
    client: &RegionClient,
    image: &ImageId,
    wait: &WaitSettings,
    deadline: Instant,
) -> Result<Page, WaitError> {
    let start = Instant::now();
    let mut last_error: Option<ImageError> = None;
    let mut delays = schedule(wait.poll_interval, wait.max_poll_interval, None);
    let mut scan_requested = false;
    let mut last_scan: Option<ScanInfo> = None;
    loop {
        let answer = fetch::page(client, image, None).await;
        if !matches!(answer, Err(PageError::Transient(_))) {
            last_error = None;
        }
        let status = match answer {
            Ok(page) => match classify(&page.scan.status, page.scan.description.as_deref()) {
                Usability::Usable => {
                    tracing::info!(image = %image, status = %page.scan.status, elapsed = ?start.elapsed(), "scan usable");
                    return Ok(page);
                }
                Usability::Unusable(message) => {
                    return Err(WaitError {
                        error: ImageError::scan(message),
                        scan: Some(page.scan),
                    })
                }
                Usability::Pending => {
                    let status = page.scan.status.clone();
                    last_scan = Some(page.scan);
                    status
                }
            },
            Err(PageError::ScanNotFound) => {
                if wait.start_scan && !scan_requested {
                    scan_requested = true;
                    start_scan(client, image)
                        .await
                        .map_err(|error| WaitError { error, scan: None })?;
                } else if start.elapsed() >= wait.scan_grace {
                    let mut message = not_found_message();
                    message.push_str(&format!(
                        " (still no scan {} after the start)",
                        humantime::format_duration(wait.scan_grace)
                    ));
                    return Err(WaitError {
                        error: ImageError::scan(message),
                        scan: None,
                    });
                }
                "ScanNotFound".to_string()
            }
            Err(PageError::Transient(error)) => {
                tracing::warn!(image = %image, "{}; polling again", error.message);
                last_error = Some(error);
                "an AWS error".to_string()
            }
            Err(PageError::Failed(error)) => {
                return Err(WaitError {
                    error,
                    scan: last_scan,
                })
            }
        };
        let elapsed = start.elapsed();
        let delay = delays.next().unwrap_or(wait.max_poll_interval);
        let Some(sleep) = next_sleep(delay, Instant::now(), deadline) else {
            // Still failing at the deadline is an AWS error, not a slow scan.
            if let Some(error) = last_error {
                return Err(WaitError {
                    error,
                    scan: last_scan,
                });
            }
            return Err(WaitError {
                error: ImageError::scan(format!(
                    "timed out after {} waiting for the scan of {} (last status {status}); raise --timeout, or \
                     check the scan in the ECR console",
                    humantime::format_duration(wait.timeout),
                    describe(image)
                )),
                scan: last_scan,
            });
        };
        tracing::debug!(image = %image, %status, elapsed = ?elapsed, next_delay = ?sleep, "scan not ready yet");
        tokio::time::sleep(sleep).await;
    }
}

/// Starts a basic scan. StartImageScan's LimitExceeded means "already scanned in the last 24 h"
/// (the SDK would retry it as throttling), so SDK retries are off here and transient faults
/// are retried by hand.
async fn start_scan(client: &RegionClient, image: &ImageId) -> Result<(), ImageError> {
    let what = describe(image);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = client
            .client
            .start_image_scan()
            .repository_name(&image.repository)
            .set_registry_id(image.registry_id.clone())
            .image_id(identifier(image))
            .customize()
            .config_override(
                aws_sdk_ecr::config::Config::builder().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await;
        let err = match result {
            Ok(_) => {
                tracing::info!(image = %what, "started a basic scan");
                return Ok(());
            }
            Err(e) => CallError::from_sdk(e),
        };
        match err.code() {
            Some("LimitExceededException") => {
                tracing::warn!(image = %what, "a scan already ran for this image in the last 24 hours; polling it");
                return Ok(());
            }
            Some("ValidationException") | Some("UnsupportedFeatureException") => {
                tracing::warn!(
                    image = %what,
                    "on-demand scans (--start-scan) are not available when the registry uses enhanced scanning; \
                     Amazon Inspector scans on push and continuously, so waiting for its scan instead"
                );
                return Ok(());
            }
            Some("UnsupportedImageTypeException") => {
                return Err(ImageError::scan(format!(
                    "ECR cannot scan {what}: its image type is not supported (UnsupportedImageTypeException)"
                )))
            }
            _ if err.is_transient() && attempt < 3 => {
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            _ => return Err(err.into_image_error("ecr:StartImageScan", &what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_grows_from_poll_to_max_and_stays_in_bounds() {
        let poll = Duration::from_secs(5);
        let max = Duration::from_secs(30);
        let delays: Vec<Duration> = schedule(poll, max, Some(7)).take(20).collect();
        assert!(delays.iter().all(|d| *d >= poll && *d <= max), "{delays:?}");
        assert!(
            delays[0] < Duration::from_secs(10),
            "first delay starts near the poll interval: {delays:?}"
        );
        assert!(
            delays[10..].iter().all(|d| *d == max),
            "later delays reach the cap: {delays:?}"
        );
    }

    #[test]
    fn jitter_varies_between_seeds() {
        let a: Vec<Duration> = schedule(Duration::from_secs(1), Duration::from_secs(60), Some(1))
            .take(5)
            .collect();
        let b: Vec<Duration> = schedule(Duration::from_secs(1), Duration::from_secs(60), Some(2))
            .take(5)
            .collect();
        assert_ne!(a, b);
    }

    #[test]
    fn never_sleeps_past_the_deadline() {
        let t = Duration::from_secs;
        let now = Instant::now();
        assert_eq!(next_sleep(t(30), now, now + t(20)), Some(t(20)));
        assert_eq!(next_sleep(t(5), now, now + t(20)), Some(t(5)));
        assert_eq!(next_sleep(t(5), now, now), None);
        assert_eq!(next_sleep(t(5), now + t(10), now), None);
    }
}
