//! The waiter: our own loop, because the SDK's generated waiter knows only COMPLETE and FAILED
//! (it times out on enhanced scanning's ACTIVE). Each poll is one DescribeImageScanFindings
//! call whose first page is kept for the fetch, with exponential backoff and jitter between
//! `--poll-interval` and `--max-poll-interval`, never sleeping past `--timeout`.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::api::{ApiError, FindingsPage, ScanApi};
use super::fetch::{self, PageError};
use super::WaitSettings;
use crate::findings::status::{classify_answer, not_found_message, Usability};
use crate::findings::{Image, ImageError, ScanInfo, ScanKind};

/// Why waiting ended without a usable scan, with the last status seen for the reports.
pub struct WaitError {
    /// Why the scan cannot be used (or AWS failed).
    pub error: ImageError,
    /// The last scan status seen, if any, so reports can show it.
    pub scan: Option<ScanInfo>,
}

/// The next sleep: the schedule's delay, but never past the deadline.
pub fn next_sleep(delay: Duration, now: Instant, deadline: Instant) -> Option<Duration> {
    let remaining = deadline
        .checked_duration_since(now)
        .filter(|r| !r.is_zero())?;
    Some(delay.min(remaining))
}

/// What "the same answer" compares: the counts, the first page's size, whether more pages follow.
type Signature = (BTreeMap<String, u64>, usize, bool);

/// The settle rule for enhanced scanning: ECR answers COMPLETE (or ACTIVE) before Amazon
/// Inspector has delivered its findings, first with none, then a part, then all. An answer is
/// judged only once it carries findings or counts and has stopped changing.
pub struct Settle {
    kind: ScanKind,
    settle: Duration,
    /// The counts, first-page size and whether more pages follow, last seen, and since when
    /// they have not changed.
    seen: Option<(Signature, Instant)>,
    /// When the answer last checked will be settled if nothing changes: the waiter polls then
    /// rather than a backoff step later.
    due: Option<Instant>,
}

impl Settle {
    /// For a registry that scans the `kind` way, waiting `settle` for findings to stop changing.
    pub fn new(kind: ScanKind, settle: Duration) -> Self {
        Settle {
            kind,
            settle,
            seen: None,
            due: None,
        }
    }

    /// How long until the last answer checked settles if it stays the same.
    pub fn due_in(&self, now: Instant) -> Option<Duration> {
        self.due.map(|due| due.saturating_duration_since(now))
    }

    /// An answer Inspector has not delivered into yet: nothing to compare later answers with.
    fn not_delivered(&mut self, what: &str) -> Result<String, String> {
        self.seen = None;
        Err(format!("{what}: Amazon Inspector has not delivered"))
    }

    /// `Ok(why it is settled)` or `Err(why not yet)`, for a usable page seen at `now`;
    /// `completed_age` is how long ago ECR says the scan completed.
    pub fn check(
        &mut self,
        page: &FindingsPage,
        now: Instant,
        completed_age: Option<Duration>,
    ) -> Result<String, String> {
        self.due = None;
        if self.kind == ScanKind::Basic {
            return Ok("basic scanning: a usable answer is final".to_string());
        }
        if page.lists().none() {
            return self.not_delivered("no findings list at all yet");
        }
        if self.settle.is_zero() {
            return Ok("--settle 0: judging the first usable answer".to_string());
        }
        if !page.enhanced_list && page.counts.values().sum::<u64>() == 0 {
            return self.not_delivered("no enhancedFindings and no counts yet");
        }
        let show = |d: Duration| humantime::format_duration(Duration::from_secs(d.as_secs()));
        if let Some(age) = completed_age.filter(|age| *age >= self.settle) {
            return Ok(format!("the scan completed {} ago", show(age)));
        }
        // Pages hold at most 100 enhanced findings: whether more follow is part of "the same".
        let signature = (
            page.counts.clone(),
            page.findings.len(),
            page.next_token.is_some(),
        );
        if self
            .seen
            .as_ref()
            .is_none_or(|(seen, _)| *seen != signature)
        {
            self.seen = Some((signature, now));
        }
        let since = self.seen.as_ref().map_or(now, |(_, at)| *at);
        let steady = now.saturating_duration_since(since);
        let by_age = completed_age.map(|age| now + self.settle.saturating_sub(age));
        let by_steady = since + self.settle;
        self.due = Some(by_age.map_or(by_steady, |a| a.min(by_steady)));
        if steady >= self.settle {
            Ok(format!("the same findings for {}", show(steady)))
        } else {
            Err(format!(
                "findings unchanged for {} of the {} --settle asks",
                show(steady),
                show(self.settle)
            ))
        }
    }
}

/// How long ago ECR says the scan completed, measured on ECR's clock: its `completedAt` against
/// the `Date` of the same answer. The runner's clock may be minutes off; ahead, it would take a
/// scan that just completed for an old one and judge findings Inspector is still delivering.
pub fn completed_age(page: &FindingsPage) -> Option<Duration> {
    let completed = page.scan.completed_at.as_deref()?;
    match page.server_date.as_deref() {
        Some(server_now) => crate::timestamp::between(completed, server_now),
        // No Date header (a proxy that drops it, an emulator that sends none): the local clock
        // is all there is.
        None => crate::timestamp::age(completed),
    }
}

/// Polls until the scan is usable (and, under enhanced scanning, settled), an error status, or
/// `deadline` (one `--timeout` for the whole run, however many images and platforms share it).
pub async fn until_usable<A: ScanApi>(
    api: &A,
    image: &Image,
    wait: &WaitSettings,
    kind: ScanKind,
    deadline: Instant,
) -> Result<FindingsPage, WaitError> {
    let start = Instant::now();
    let mut last_error: Option<ImageError> = None;
    let mut delays = super::retry::polls(wait.poll_interval, wait.max_poll_interval, None);
    let mut scan_requested = false;
    let mut last_scan: Option<ScanInfo> = None;
    let mut settle = Settle::new(kind, wait.settle);
    let mut unsettled: Option<String> = None;
    loop {
        // Faults (throttling above all) are tried again on the fault schedule, not a poll later.
        let answer = fetch::page_retrying(api, image, None, deadline).await;
        if !matches!(answer, Err(PageError::Transient(_))) {
            last_error = None;
        }
        let status = match answer {
            Ok(page) => match classify_answer(
                &page.scan.status,
                page.scan.description.as_deref(),
                page.lists(),
            ) {
                // Under basic scanning there is no later delivery: no list at all is malformed.
                Usability::NoFindingsList if kind == ScanKind::Basic => {
                    let error =
                        ApiError::malformed_findings(image, "imageScanFindings for a usable scan")
                            .into_image_error("ecr:DescribeImageScanFindings", image);
                    return Err(WaitError {
                        error,
                        scan: Some(page.scan),
                    });
                }
                // Under enhanced scanning the settle rule waits for Inspector to deliver.
                Usability::Usable | Usability::NoFindingsList => {
                    match settle.check(&page, Instant::now(), completed_age(&page)) {
                        Ok(why) => {
                            tracing::info!(image = %image, status = %page.scan.status, elapsed = ?start.elapsed(), settled = %why, "scan usable");
                            return Ok(page);
                        }
                        Err(why) => {
                            let status = format!("{} ({why})", page.scan.status);
                            unsettled = Some(why);
                            last_scan = Some(page.scan);
                            status
                        }
                    }
                }
                Usability::Unusable(message) => {
                    return Err(WaitError {
                        error: ImageError::scan(message),
                        scan: Some(page.scan),
                    })
                }
                Usability::Pending => {
                    unsettled = None;
                    let status = page.scan.status.clone();
                    last_scan = Some(page.scan);
                    status
                }
            },
            Err(PageError::ScanNotFound) => {
                if wait.start_scan && !scan_requested {
                    scan_requested = true;
                    start_scan(api, image, deadline)
                        .await
                        .map_err(|error| WaitError { error, scan: None })?;
                } else if wait.once || start.elapsed() >= wait.scan_grace {
                    let mut message = if scan_requested {
                        "no scan found for this image although --start-scan asked for one: check that the \
                         repository's images can be scanned"
                            .to_string()
                    } else {
                        not_found_message()
                    };
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
        if wait.once && last_error.is_none() {
            let why = unsettled.as_deref().unwrap_or(&status);
            return Err(WaitError {
                error: ImageError::scan(format!(
                    "the scan of {image} is not usable yet ({why}); it was read once, as it is now (`audit --wait` waits for scans; an admission review never does)"
                )),
                scan: last_scan,
            });
        }
        let elapsed = start.elapsed();
        let mut delay = delays.next().unwrap_or(wait.max_poll_interval);
        if unsettled.is_some() {
            // Poll when the answer would be settled, not a whole backoff step later.
            if let Some(due) = settle.due_in(Instant::now()) {
                delay = delay.min(due.max(Duration::from_millis(100)));
            }
        }
        let Some(sleep) = next_sleep(delay, Instant::now(), deadline) else {
            // Still failing at the deadline is an AWS error, not a slow scan.
            if let Some(error) = last_error {
                return Err(WaitError {
                    error,
                    scan: last_scan,
                });
            }
            let error = match unsettled {
                Some(why) => ImageError::scan(format!(
                    "enhanced findings did not settle within {} for {image} ({why}); raise --timeout, or \
                     --settle 0 to judge the first answer ECR gives",
                    humantime::format_duration(wait.timeout),
                )),
                None => ImageError::scan(format!(
                    "timed out after {} waiting for the scan of {image} (last status {status}); raise --timeout, or \
                     check the scan in the ECR console",
                    humantime::format_duration(wait.timeout),
                )),
            };
            return Err(WaitError {
                error,
                scan: last_scan,
            });
        };
        tracing::debug!(image = %image, %status, elapsed = ?elapsed, next_delay = ?sleep, "scan not ready yet");
        tokio::time::sleep(sleep).await;
    }
}

/// Starts a basic scan. StartImageScan's LimitExceeded means "already scanned in the last 24 h"
/// (a retrying client would take it for throttling), so the call is made without SDK retries
/// and only transient faults are tried again, here, until the deadline.
async fn start_scan<A: ScanApi>(
    api: &A,
    image: &Image,
    deadline: Instant,
) -> Result<(), ImageError> {
    let err = match super::retry::call_with(
        deadline,
        "StartImageScan",
        || api.start_scan(image),
        |_| false,
        |e| e.code() == Some("LimitExceededException"),
    )
    .await
    {
        Ok(()) => {
            tracing::info!(image = %image, "started a basic scan");
            return Ok(());
        }
        Err(err) => err,
    };
    match err.code() {
        // Asked only when no scan exists: refused, no scan will come, so waiting is pointless.
        Some("LimitExceededException") => Err(ImageError::scan(format!(
            "ECR refused to start a scan of {image} (LimitExceededException): an image can be scanned on demand \
             only once every 24 hours, and no scan of it exists now; push a new image or wait a day"
        ))),
        // Reached when the registry was not known to be enhanced (its configuration unreadable,
        // another account's registry): the refusal itself says it is. Exit 3 at once, as for
        // LimitExceeded: the flag asks for something this registry never does.
        Some("ValidationException") if refused_under_enhanced(&err) => Err(ImageError::scan(format!(
            "ECR refused --start-scan for {image} ({err}): the registry scans with enhanced scanning \
             (Amazon Inspector), which scans images on push and continuously on its own, so --start-scan \
             does not apply: drop it"
        ))),
        Some("UnsupportedImageTypeException") => Err(ImageError::scan(format!(
            "ECR cannot scan {image}: its image type is not supported (UnsupportedImageTypeException)"
        ))),
        _ => Err(err.into_image_error("ecr:StartImageScan", image)),
    }
}

/// StartImageScan's refusal under enhanced scanning. ECR words it "This feature is disabled",
/// without saying which feature or why; other ValidationExceptions (a malformed request) are
/// AWS errors with ECR's own words.
fn refused_under_enhanced(err: &ApiError) -> bool {
    let ApiError::Service { message, .. } = err else {
        return false;
    };
    let message = message.to_ascii_lowercase();
    message.contains("feature is disabled") || message.contains("enhanced scanning")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecr::api::ApiError;
    use crate::ecr::scripted::{image, page, service, Scripted};

    fn settings(start_scan: bool) -> WaitSettings {
        WaitSettings {
            timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(5),
            max_poll_interval: Duration::from_secs(30),
            scan_grace: Duration::from_secs(60),
            settle: Duration::ZERO,
            start_scan,
            once: false,
        }
    }

    async fn wait_on(
        api: &Scripted,
        start_scan: bool,
    ) -> (Result<FindingsPage, WaitError>, Duration) {
        let wait = settings(start_scan);
        let start = Instant::now();
        let result =
            until_usable(api, &image(), &wait, ScanKind::Basic, start + wait.timeout).await;
        (result, start.elapsed())
    }

    async fn wait_with(
        api: &Scripted,
        wait: WaitSettings,
        kind: ScanKind,
    ) -> (Result<FindingsPage, WaitError>, Duration) {
        let start = Instant::now();
        let result = until_usable(api, &image(), &wait, kind, start + wait.timeout).await;
        (result, start.elapsed())
    }

    fn settling(settle: u64) -> WaitSettings {
        WaitSettings {
            settle: Duration::from_secs(settle),
            ..settings(false)
        }
    }

    /// What ECR answers under enhanced scanning before Inspector delivers: COMPLETE with
    /// `"findings": []`, no enhancedFindings, no counts, no timestamps.
    fn undelivered() -> FindingsPage {
        let mut p = page("COMPLETE", "x", 0, None);
        p.counts.clear();
        p.scan.kind = ScanKind::Enhanced;
        p
    }

    fn delivered(n: usize, completed_at: Option<&str>) -> FindingsPage {
        let mut p = page("COMPLETE", "CVE-CRIT", n, None);
        p.basic_list = false;
        p.enhanced_list = true;
        p.scan.kind = ScanKind::Enhanced;
        p.scan.completed_at = completed_at.map(str::to_string);
        p
    }

    #[tokio::test(start_paused = true)]
    async fn enhanced_findings_still_arriving_are_not_judged_until_they_settle() {
        let api = Scripted::new()
            .page(Ok(undelivered()))
            .page(Ok(undelivered()))
            .page(Ok(delivered(1, None)))
            .page(Ok(delivered(2, None)));
        let (result, elapsed) = wait_with(&api, settling(30), ScanKind::Enhanced).await;
        let Ok(page) = result else { panic!("settled") };
        assert_eq!(
            page.findings.len(),
            2,
            "the full set is judged, not the first answer"
        );
        assert!(elapsed >= Duration::from_secs(30), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(120), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_scan_that_completed_long_ago_is_judged_at_once() {
        let api = Scripted::new().page(Ok(delivered(2, Some("2020-01-01T00:00:00.000Z"))));
        let (result, elapsed) = wait_with(&api, settling(30), ScanKind::Enhanced).await;
        assert!(result.is_ok());
        assert_eq!((api.count("findings_page"), elapsed), (1, Duration::ZERO));
    }

    /// `seconds` after `base` on the local clock, RFC 3339.
    fn at(base: time::OffsetDateTime, seconds: i64) -> String {
        let t = base + time::Duration::seconds(seconds);
        crate::timestamp::from_epoch_parts(t.unix_timestamp(), t.nanosecond()).unwrap()
    }

    /// A delivered page ECR says completed at `completed` and sent at `sent` (seconds from now
    /// on the local clock; `None`: no Date header).
    fn dated(base: time::OffsetDateTime, completed: i64, sent: Option<i64>) -> FindingsPage {
        let mut p = delivered(2, Some(&at(base, completed)));
        p.server_date = sent.map(|s| at(base, s));
        p
    }

    #[test]
    fn completed_age_is_measured_on_ecrs_clock_whichever_way_the_local_clock_is_off() {
        let now = time::OffsetDateTime::now_utc();
        // The runner's clock 10 minutes ahead of ECR's: ECR's "now" is local -600 s, and the
        // scan completed 5 s before it.
        assert_eq!(
            completed_age(&dated(now, -605, Some(-600))),
            Some(Duration::from_secs(5))
        );
        // 10 minutes behind: ECR's "now" is local +600 s, the scan completed 2 minutes before
        // it (in the local clock's future).
        assert_eq!(
            completed_age(&dated(now, 480, Some(600))),
            Some(Duration::from_secs(120))
        );
        // Without a Date header, the local clock is all there is.
        let local = completed_age(&dated(now, -605, None)).unwrap();
        // (604, not 605: timestamps keep milliseconds, rounded.)
        assert!(local >= Duration::from_secs(604), "{local:?}");
        assert_eq!(completed_age(&dated(now, 480, None)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_runner_clock_ahead_of_ecr_does_not_judge_a_scan_that_just_completed() {
        let now = time::OffsetDateTime::now_utc();
        let api = Scripted::new().page(Ok(dated(now, -605, Some(-600))));
        let (result, elapsed) = wait_with(&api, settling(30), ScanKind::Enhanced).await;
        assert!(result.is_ok());
        assert!(
            elapsed >= Duration::from_secs(25),
            "5 s old on ECR's clock, so the findings must stay the same first: {elapsed:?}"
        );
        assert!(api.count("findings_page") > 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_runner_clock_behind_ecr_still_judges_a_scan_that_completed_long_ago_at_once() {
        let now = time::OffsetDateTime::now_utc();
        let api = Scripted::new().page(Ok(dated(now, 480, Some(600))));
        let (result, elapsed) = wait_with(&api, settling(30), ScanKind::Enhanced).await;
        let Ok(page) = result else { panic!("settled") };
        assert_eq!(page.findings.len(), 2);
        assert_eq!((api.count("findings_page"), elapsed), (1, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn findings_never_delivered_are_exit_3_did_not_settle() {
        let api = Scripted::new().page(Ok(undelivered()));
        let e = error(wait_with(&api, settling(30), ScanKind::Enhanced).await.0);
        assert_eq!(e.exit_code(), 3);
        assert!(e.message().contains("did not settle"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn settle_zero_judges_the_first_usable_answer_and_basic_scans_never_wait() {
        let api = Scripted::new().page(Ok(undelivered()));
        let (result, elapsed) = wait_with(&api, settling(0), ScanKind::Enhanced).await;
        assert!(result.is_ok() && elapsed.is_zero());
        let api = Scripted::new().page(Ok(page("COMPLETE", "x", 0, None)));
        let (result, elapsed) = wait_with(&api, settling(30), ScanKind::Basic).await;
        assert!(result.is_ok() && elapsed.is_zero());
    }

    #[tokio::test(start_paused = true)]
    async fn no_findings_list_at_all_is_malformed_under_basic_and_not_delivered_under_enhanced() {
        let mut bare = page("COMPLETE", "x", 0, None);
        bare.basic_list = false;
        let api = Scripted::new().page(Ok(bare.clone()));
        let e = error(wait_with(&api, settling(30), ScanKind::Basic).await.0);
        assert_eq!(e.exit_code(), 4);
        assert!(e.message().contains("imageScanFindings"), "{e}");
        let api = Scripted::new().page(Ok(bare));
        let e = error(wait_with(&api, settling(0), ScanKind::Enhanced).await.0);
        assert!(e.message().contains("did not settle"), "{e}");
    }

    #[test]
    fn changing_counts_restart_the_settle_clock() {
        let s = Duration::from_secs;
        let t0 = Instant::now();
        let mut settle = Settle::new(ScanKind::Enhanced, s(30));
        assert!(settle.check(&delivered(1, None), t0, None).is_err());
        assert!(settle.check(&delivered(2, None), t0 + s(29), None).is_err());
        assert!(
            settle.check(&delivered(2, None), t0 + s(40), None).is_err(),
            "11 s steady only"
        );
        assert!(settle.check(&delivered(2, None), t0 + s(59), None).is_ok());
        let mut settle = Settle::new(ScanKind::Enhanced, s(30));
        assert!(settle.check(&delivered(2, None), t0, Some(s(5))).is_err());
        assert!(settle.check(&delivered(2, None), t0, Some(s(31))).is_ok());
    }

    fn error(result: Result<FindingsPage, WaitError>) -> ImageError {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.error,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pending_then_in_progress_then_complete_is_usable_after_two_sleeps() {
        let api = Scripted::new()
            .page(Ok(page("PENDING", "x", 0, None)))
            .page(Ok(page("IN_PROGRESS", "x", 0, None)))
            .page(Ok(page("COMPLETE", "x", 3, None)));
        let (result, elapsed) = wait_on(&api, false).await;
        let first = result.ok().expect("usable");
        assert_eq!(
            first.findings.len(),
            3,
            "the usable page is kept for the fetch"
        );
        assert_eq!(api.count("findings_page"), 3);
        assert!(elapsed >= Duration::from_secs(10), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_status_ends_the_wait_at_once_with_exit_3() {
        for status in [
            "FAILED",
            "UNSUPPORTED_IMAGE",
            "FINDINGS_UNAVAILABLE",
            "QUARANTINED",
        ] {
            let api = Scripted::new().page(Ok(page(status, "x", 0, None)));
            let (result, elapsed) = wait_on(&api, false).await;
            let e = error(result);
            assert_eq!(e.exit_code(), 3, "{status}: {e}");
            assert!(e.message().contains(status), "{e}");
            assert_eq!((api.count("findings_page"), elapsed), (1, Duration::ZERO));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn scan_not_found_is_retried_during_the_grace_period() {
        let api = Scripted::new()
            .page(Err(service("ScanNotFoundException")))
            .page(Err(service("ScanNotFoundException")))
            .page(Ok(page("COMPLETE", "x", 0, None)));
        let (result, _) = wait_on(&api, false).await;
        assert!(result.is_ok());
        assert_eq!(api.count("start_scan"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn scan_not_found_after_the_grace_period_is_exit_3_with_advice() {
        let api = Scripted::new().page(Err(service("ScanNotFoundException")));
        let (result, elapsed) = wait_on(&api, false).await;
        let e = error(result);
        assert_eq!(e.exit_code(), 3);
        assert!(e.message().contains("--start-scan"), "{e}");
        assert!(
            elapsed >= Duration::from_secs(60) && elapsed < Duration::from_secs(120),
            "gives up once the grace is over: {elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_scan_that_never_finishes_times_out_at_the_deadline_not_after() {
        let api = Scripted::new().page(Ok(page("IN_PROGRESS", "x", 0, None)));
        let (result, elapsed) = wait_on(&api, false).await;
        let e = error(result);
        assert_eq!(e.exit_code(), 3);
        assert!(
            e.message().contains("timed out") && e.message().contains("IN_PROGRESS"),
            "{e}"
        );
        assert_eq!(
            elapsed,
            Duration::from_secs(600),
            "the last sleep is cut to the deadline"
        );
        // Backoff: 600 s at 5 s doubling to a 30 s cap is nowhere near 120 polls.
        assert!(
            api.count("findings_page") < 40,
            "{}",
            api.count("findings_page")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_ridden_out_and_still_failing_at_the_deadline_is_exit_4() {
        let api = Scripted::new()
            .page(Err(service("ThrottlingException")))
            .page(Err(ApiError::Transport("connection reset".into())))
            .page(Ok(page("COMPLETE", "x", 1, None)));
        assert!(wait_on(&api, false).await.0.is_ok());

        let api = Scripted::new().page(Err(service("ServerException")));
        let e = error(wait_on(&api, false).await.0);
        assert_eq!(e.exit_code(), 4);
        assert!(e.message().contains("ServerException"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_answers_is_given_up_at_the_deadline_with_exit_4() {
        let api = Scripted::new()
            .page(Ok(page("COMPLETE", "x", 0, None)))
            .slow_pages();
        let (result, elapsed) = wait_on(&api, false).await;
        let e = error(result);
        assert_eq!(e.exit_code(), 4, "{e}");
        assert_eq!(
            elapsed,
            Duration::from_secs(600) + crate::ecr::retry::DEADLINE_GRACE,
            "not a day: the deadline and the grace for a call in flight"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn access_denied_is_exit_4_at_once() {
        let api = Scripted::new().page(Err(service("AccessDeniedException")));
        let (result, elapsed) = wait_on(&api, false).await;
        let e = error(result);
        assert_eq!((e.exit_code(), elapsed), (4, Duration::ZERO));
        assert!(e.message().contains("ecr:DescribeImageScanFindings"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn start_scan_is_asked_once_then_polled() {
        let api = Scripted::new()
            .page(Err(service("ScanNotFoundException")))
            .page(Ok(page("IN_PROGRESS", "x", 0, None)))
            .page(Ok(page("COMPLETE", "x", 0, None)))
            .start(Ok(()));
        assert!(wait_on(&api, true).await.0.is_ok());
        assert_eq!(api.count("start_scan"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn start_scan_retries_transient_faults_but_not_limit_exceeded() {
        let api = Scripted::new()
            .page(Err(service("ScanNotFoundException")))
            .page(Ok(page("COMPLETE", "x", 0, None)))
            .start(Err(service("ThrottlingException")))
            .start(Ok(()));
        assert!(wait_on(&api, true).await.0.is_ok());
        assert_eq!(api.count("start_scan"), 2);

        // Refused while no scan exists: no scan will come, so exit 3 at once.
        let api = Scripted::new()
            .page(Err(service("ScanNotFoundException")))
            .start(Err(service("LimitExceededException")));
        let (result, elapsed) = wait_on(&api, true).await;
        let e = error(result);
        assert_eq!((e.exit_code(), elapsed), (3, Duration::ZERO));
        assert!(e.message().contains("24 hours"), "{e}");
        assert_eq!(api.count("start_scan"), 1);

        // Any other ValidationException is ECR's own error, exit 4.
        let api = Scripted::new()
            .page(Err(service("ScanNotFoundException")))
            .start(Err(service("ValidationException")));
        assert_eq!(error(wait_on(&api, true).await.0).exit_code(), 4);

        let api = Scripted::new()
            .page(Err(service("ScanNotFoundException")))
            .start(Err(service("AccessDeniedException")));
        let e = error(wait_on(&api, true).await.0);
        assert!(e.message().contains("ecr:StartImageScan"), "{e}");
        assert_eq!(e.exit_code(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn start_scan_refused_as_this_feature_is_disabled_says_enhanced_scanning_and_exits_3() {
        // ECR's exact words under enhanced scanning, which do not say "enhanced".
        let disabled = ApiError::Service {
            code: "ValidationException".into(),
            message: "This feature is disabled".into(),
            status: 400,
        };
        let api = Scripted::new()
            .page(Err(service("ScanNotFoundException")))
            .page(Ok(page("COMPLETE", "x", 0, None)))
            .start(Err(disabled));
        let (result, elapsed) = wait_on(&api, true).await;
        let e = error(result);
        assert_eq!((e.exit_code(), elapsed), (3, Duration::ZERO), "{e}");
        for words in [
            "This feature is disabled",
            "enhanced scanning (Amazon Inspector)",
            "on its own",
            "--start-scan does not apply",
            "drop it",
        ] {
            assert!(e.message().contains(words), "{words}: {e}");
        }
        assert_eq!(api.count("start_scan"), 1, "a refusal is not asked again");
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
