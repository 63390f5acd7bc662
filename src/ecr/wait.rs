//! The waiter: our own loop, because the SDK's generated waiter knows only COMPLETE and FAILED
//! (it times out on enhanced scanning's ACTIVE). Each poll is one DescribeImageScanFindings
//! call whose first page is kept for the fetch, with exponential backoff and jitter between
//! `--poll-interval` and `--max-poll-interval`, never sleeping past `--timeout`.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use tokio::time::Instant;

use super::api::{FindingsPage, ScanApi};
use super::fetch::{self, PageError};
use super::WaitSettings;
use crate::findings::status::{classify, not_found_message, Usability};
use crate::findings::{Image, ImageError, ScanInfo};

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
pub async fn until_usable<A: ScanApi>(
    api: &A,
    image: &Image,
    wait: &WaitSettings,
    deadline: Instant,
) -> Result<FindingsPage, WaitError> {
    let start = Instant::now();
    let mut last_error: Option<ImageError> = None;
    let mut delays = schedule(wait.poll_interval, wait.max_poll_interval, None);
    let mut scan_requested = false;
    let mut last_scan: Option<ScanInfo> = None;
    loop {
        let answer = fetch::page(api, image, None).await;
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
                    start_scan(api, image)
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
                tracing::warn!(image = %image, "{}; polling again", error.message());
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
                    image
                )),
                scan: last_scan,
            });
        };
        tracing::debug!(image = %image, %status, elapsed = ?elapsed, next_delay = ?sleep, "scan not ready yet");
        tokio::time::sleep(sleep).await;
    }
}

/// Starts a basic scan. StartImageScan's LimitExceeded means "already scanned in the last 24 h"
/// (a retrying client would take it for throttling), so the call is made without SDK retries
/// and only transient faults are tried again, here.
async fn start_scan<A: ScanApi>(api: &A, image: &Image) -> Result<(), ImageError> {
    let retries = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_times(2);
    let err = match (|| api.start_scan(image))
        .retry(retries)
        .when(|e| e.is_transient())
        .await
    {
        Ok(()) => {
            tracing::info!(image = %image, "started a basic scan");
            return Ok(());
        }
        Err(err) => err,
    };
    match err.code() {
        Some("LimitExceededException") => {
            tracing::warn!(image = %image, "a scan already ran for this image in the last 24 hours; polling it");
            Ok(())
        }
        Some("ValidationException") | Some("UnsupportedFeatureException") => {
            tracing::warn!(
                image = %image,
                "on-demand scans (--start-scan) are not available when the registry uses enhanced scanning; \
                 Amazon Inspector scans on push and continuously, so waiting for its scan instead"
            );
            Ok(())
        }
        Some("UnsupportedImageTypeException") => Err(ImageError::scan(format!(
            "ECR cannot scan {image}: its image type is not supported (UnsupportedImageTypeException)"
        ))),
        _ => Err(err.into_image_error("ecr:StartImageScan", image)),
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
