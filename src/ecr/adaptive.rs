//! Adaptive concurrency: [`Adaptive`] wraps any [`ScanApi`] and lets at most [`CallLimit`]'s
//! current limit of calls be in flight at once, shared by every task of a run. It sits on the
//! seam, so `check`, `wait`, `audit` and `serve` all get it, and the retry loops above it
//! (`retry::call`) go through it again on every try.
//!
//! ECR's quotas are per account and region, in requests per second, shared with every other
//! client of the account, and not told to the caller: the only signal is a
//! `ThrottlingException`. So the limit is learnt the way TCP learns a window, AIMD: it starts at
//! the cap (`--concurrency`; a run that is never throttled runs at full width from its first
//! call), every throttled answer halves it (never below 1), and each run of [`RUN`] answers in
//! a row raises it by one again (never above the cap).
//!
//! Every throttle halves, not once per window as TCP does per round trip. A rate quota is a
//! token bucket: a first burst gets through, then only the refill does, so when a run is far
//! above the quota the calls of one window are throttled together. Halving once per window
//! spends one mostly-throttled window per halving on the way down from 32 to the two or three
//! calls a 20 requests/s quota sustains at 100 ms; halving on each throttle gets there within
//! the first window. A fixed run length rather than one raise per window keeps probing gentle
//! where the quota is tight (one more call per 16 answers at a limit of 2) and the climb back
//! quick where it is not (1 to 32 in about 500 answers).
//!
//! The first full window is held (`Probe`): the quota answers its first calls and throttles
//! the last, so without the hold the room its first answers free would go to new calls before
//! its throttles arrive, and those would be throttled too.
//!
//! Measured on the paused clock, 100 images against a 20 requests/s quota at 100 ms (the
//! `under_a_20_per_second_quota_100_images…` test): 7.8 % of requests throttled; halving once
//! per window instead, 15.5 %; without the hold, 14.8 %.
//!
//! The SDK must not retry throttling inside a call: this limiter would not see those attempts,
//! and a call would hold its room through the SDK's back-off.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::api::{
    ApiError, FindingsPage, ImageDetail, ImageSummary, Listing, Manifest, RegistryScanning, ScanApi,
};
use crate::findings::Image;

/// Answers in a row (none throttled) that raise the limit by one.
pub const RUN: usize = 16;

/// No call in flight for this long and the next full window is held again ([`Probe`]): ECR's
/// quotas are per second, so by then the bucket has refilled.
const IDLE: Duration = Duration::from_secs(1);

/// What a finished call says about the quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The quota let it through (whatever the answer said).
    Answered,
    /// ECR said "slow down".
    Throttled,
    /// A server error, the network, no credentials, or a call given up: nothing about the quota.
    Silent,
}

impl Outcome {
    fn of<T>(result: &Result<T, ApiError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Answered,
            Err(e) if e.is_throttling() => Outcome::Throttled,
            Err(ApiError::Service { status, .. }) if *status < 500 => Outcome::Answered,
            Err(ApiError::BadAnswer(_)) => Outcome::Answered,
            Err(_) => Outcome::Silent,
        }
    }
}

#[derive(Debug)]
struct State {
    /// Calls allowed in flight now: `1..=cap`.
    limit: usize,
    cap: usize,
    in_flight: usize,
    /// Answers since the limit last changed.
    run: usize,
    probe: Probe,
    /// When a call last ended, to tell when the limit has been idle.
    last_end: Option<Instant>,
}

/// The first full window: its calls all go out before any answer says what the quota allows,
/// and the quota's burst answers the first of them, so their answers come back before the
/// throttles among them. Room those answers free is not reused until the throttles have been
/// counted: until every call of the window is answered, or a straggler has taken twice as long
/// as the first answer. Once at the start, and again after [`IDLE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Probe {
    /// The next time the limit is reached, hold.
    Armed,
    /// The window filled at `since`; its first answer sets `until`.
    Holding {
        since: Instant,
        until: Option<Instant>,
    },
    Off,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Woken when a call may fit: one waiter at a time, which passes it on if more fit.
    room: Notify,
}

/// The limit on calls in flight; clones share it.
#[derive(Clone, Debug)]
pub struct CallLimit(Arc<Shared>);

impl CallLimit {
    /// A limit that starts at `cap` (at least 1) and never exceeds it.
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        CallLimit(Arc::new(Shared {
            state: Mutex::new(State {
                limit: cap,
                cap,
                in_flight: 0,
                run: 0,
                probe: Probe::Armed,
                last_end: None,
            }),
            room: Notify::new(),
        }))
    }

    /// Calls allowed in flight now.
    pub fn limit(&self) -> usize {
        self.0.state.lock().expect("limit state").limit
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        self.0.state.lock().expect("limit state").in_flight
    }

    /// Waits for room for one more call. Dropping the future while it waits gives up its place
    /// (a wake-up it received goes to the next waiter); dropping the permit frees the room.
    pub async fn acquire(&self) -> Permit {
        // Let the answers that arrived with this task's last one be counted first: its next
        // call must not take the room a throttle beside it is about to take away.
        tokio::task::yield_now().await;
        loop {
            let room = self.0.room.notified();
            tokio::pin!(room);
            // Registered before looking, so room freed after the look wakes this waiter.
            room.as_mut().enable();
            match self.try_acquire() {
                Ok(permit) => return permit,
                // A held window ends at `until` even if nothing is answered by then.
                Err(Some(until)) => {
                    let _ = tokio::time::timeout_at(until, room).await;
                }
                Err(None) => room.await,
            }
        }
    }

    /// A permit, or when to look again at the latest (`None`: when woken).
    fn try_acquire(&self) -> Result<Permit, Option<Instant>> {
        let now = Instant::now();
        let mut state = self.0.state.lock().expect("limit state");
        match state.probe {
            Probe::Holding {
                until: Some(until), ..
            } if now >= until => state.probe = Probe::Off,
            Probe::Holding { until, .. } => return Err(until),
            Probe::Off
                if state.in_flight == 0 && state.last_end.is_some_and(|end| now - end >= IDLE) =>
            {
                state.probe = Probe::Armed
            }
            _ => {}
        }
        if state.in_flight >= state.limit {
            return Err(None);
        }
        state.in_flight += 1;
        if state.in_flight == state.limit && state.probe == Probe::Armed {
            state.probe = Probe::Holding {
                since: now,
                until: None,
            };
        } else if state.in_flight < state.limit {
            // The room is checked when a waiter runs, not when it is woken: answers that
            // arrive together are all counted before the calls they make room for start.
            self.0.room.notify_one();
        }
        Ok(Permit {
            shared: self.0.clone(),
            outcome: Outcome::Silent,
        })
    }
}

/// Room for one call in flight, given back when dropped.
#[derive(Debug)]
pub struct Permit {
    shared: Arc<Shared>,
    outcome: Outcome,
}

impl Permit {
    fn finish(mut self, outcome: Outcome) {
        self.outcome = outcome;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut state = self.shared.state.lock().expect("limit state");
        state.in_flight -= 1;
        state.last_end = Some(now);
        match self.outcome {
            Outcome::Throttled => {
                let limit = (state.limit / 2).max(1);
                if limit != state.limit {
                    tracing::debug!(limit, "ECR throttled: fewer calls in flight");
                }
                state.limit = limit;
                state.run = 0;
            }
            Outcome::Answered => {
                state.run += 1;
                if state.run >= RUN {
                    state.run = 0;
                    state.limit = (state.limit + 1).min(state.cap);
                }
            }
            Outcome::Silent => {}
        }
        let room = match state.probe {
            Probe::Holding { .. } if state.in_flight == 0 => {
                state.probe = Probe::Off;
                true
            }
            Probe::Holding { since, until } => {
                if until.is_none() {
                    state.probe = Probe::Holding {
                        since,
                        until: Some(now + (now - since)),
                    };
                }
                // A waiter learns the deadline and passes the room on once it is reached
                // (woken on every answer, in case the one that knew it has given up).
                true
            }
            Probe::Armed | Probe::Off => state.in_flight < state.limit,
        };
        if room {
            self.shared.room.notify_one();
        }
    }
}

/// One [`CallLimit`] per region (ECR's quotas are per account and region), kept as long as
/// their owner: one run of `check`, or the webhook's whole life, so every review of a region
/// shares what ECR's throttles taught.
#[derive(Clone, Debug)]
pub struct Limits {
    cap: usize,
    by_region: Arc<Mutex<HashMap<String, CallLimit>>>,
}

impl Limits {
    /// No region yet; each starts at `cap` when first used.
    pub fn new(cap: usize) -> Self {
        Limits {
            cap,
            by_region: Arc::default(),
        }
    }

    /// The limit of `region`, shared with every earlier caller.
    pub fn of(&self, region: &str) -> CallLimit {
        let mut all = self.by_region.lock().expect("limits");
        all.entry(region.to_string())
            .or_insert_with(|| CallLimit::new(self.cap))
            .clone()
    }
}

/// A [`ScanApi`] whose calls share one [`CallLimit`].
#[derive(Clone)]
pub struct Adaptive<A> {
    inner: A,
    limit: CallLimit,
}

impl<A: ScanApi> Adaptive<A> {
    /// `inner`, at most `cap` calls at once, fewer while ECR throttles.
    pub fn new(inner: A, cap: usize) -> Self {
        Adaptive::sharing(inner, CallLimit::new(cap))
    }

    /// `inner`, under a limit other clients of the same quota (account and region) share.
    pub fn sharing(inner: A, limit: CallLimit) -> Self {
        Adaptive { inner, limit }
    }

    /// The shared limit, to read it.
    pub fn limit(&self) -> &CallLimit {
        &self.limit
    }

    async fn limited<T, F>(
        &self,
        call: impl FnOnce() -> F,
        outcome: fn(&Result<T, ApiError>) -> Outcome,
    ) -> Result<T, ApiError>
    where
        F: Future<Output = Result<T, ApiError>>,
    {
        let permit = self.limit.acquire().await;
        let result = call().await;
        permit.finish(outcome(&result));
        result
    }
}

impl<A: ScanApi> ScanApi for Adaptive<A> {
    async fn describe_image(&self, image: &Image) -> Result<ImageDetail, ApiError> {
        self.limited(|| self.inner.describe_image(image), Outcome::of)
            .await
    }

    async fn findings_page(
        &self,
        image: &Image,
        token: Option<&str>,
    ) -> Result<FindingsPage, ApiError> {
        self.limited(|| self.inner.findings_page(image, token), Outcome::of)
            .await
    }

    async fn manifest(&self, image: &Image) -> Result<Manifest, ApiError> {
        self.limited(|| self.inner.manifest(image), Outcome::of)
            .await
    }

    async fn put_image(
        &self,
        image: &Image,
        tag: &str,
        manifest: &Manifest,
    ) -> Result<(), ApiError> {
        self.limited(|| self.inner.put_image(image, tag, manifest), Outcome::of)
            .await
    }

    async fn start_scan(&self, image: &Image) -> Result<(), ApiError> {
        // Here LimitExceededException is "already scanned today", an answer, not the quota.
        self.limited(
            || self.inner.start_scan(image),
            |result| match result {
                Err(e) if e.code() == Some("LimitExceededException") => Outcome::Answered,
                other => Outcome::of(other),
            },
        )
        .await
    }

    async fn registry_scanning(&self) -> Result<RegistryScanning, ApiError> {
        self.limited(|| self.inner.registry_scanning(), Outcome::of)
            .await
    }

    async fn repositories(
        &self,
        registry_id: Option<&str>,
        token: Option<&str>,
    ) -> Result<Listing<String>, ApiError> {
        self.limited(|| self.inner.repositories(registry_id, token), Outcome::of)
            .await
    }

    async fn tagged_images(
        &self,
        registry_id: Option<&str>,
        repository: &str,
        token: Option<&str>,
    ) -> Result<Listing<ImageSummary>, ApiError> {
        self.limited(
            || self.inner.tagged_images(registry_id, repository, token),
            Outcome::of,
        )
        .await
    }

    fn region(&self) -> &str {
        self.inner.region()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::ecr::scripted::{image, Quota, Scripted};
    use crate::ecr::{gate, retry, Mode, WaitSettings};

    const LATENCY: Duration = Duration::from_millis(100);

    fn finish(limit: &CallLimit, outcome: Outcome) {
        limit.try_acquire().expect("room").finish(outcome);
    }

    #[test]
    fn a_throttle_halves_the_limit_never_below_one() {
        let limit = CallLimit::new(32);
        let mut seen = Vec::new();
        for _ in 0..7 {
            finish(&limit, Outcome::Throttled);
            seen.push(limit.limit());
        }
        assert_eq!(seen, [16, 8, 4, 2, 1, 1, 1]);
        assert_eq!(limit.in_flight(), 0);
    }

    #[test]
    fn a_run_of_answers_raises_the_limit_by_one_never_above_the_cap() {
        let limit = CallLimit::new(4);
        finish(&limit, Outcome::Throttled);
        assert_eq!(limit.limit(), 2);
        for _ in 0..RUN - 1 {
            finish(&limit, Outcome::Answered);
        }
        assert_eq!(limit.limit(), 2, "one answer short of a run");
        finish(&limit, Outcome::Answered);
        assert_eq!(limit.limit(), 3);
        // A throttle breaks the run: the answers before it do not count towards the next raise.
        for _ in 0..RUN - 1 {
            finish(&limit, Outcome::Answered);
        }
        finish(&limit, Outcome::Throttled);
        for _ in 0..RUN - 1 {
            finish(&limit, Outcome::Answered);
        }
        assert_eq!(limit.limit(), 1);
        for _ in 0..10 * RUN {
            finish(&limit, Outcome::Answered);
        }
        assert_eq!(limit.limit(), 4, "never above the cap");
        // Faults that say nothing about the quota change nothing.
        finish(&limit, Outcome::Silent);
        assert_eq!(limit.limit(), 4);
    }

    #[test]
    fn what_counts_as_throttled() {
        let service = |code: &str, status| -> Result<(), ApiError> {
            Err(ApiError::Service {
                code: code.into(),
                message: String::new(),
                status,
            })
        };
        assert_eq!(
            Outcome::of(&service("ThrottlingException", 400)),
            Outcome::Throttled
        );
        assert_eq!(Outcome::of(&service("HTTP 429", 429)), Outcome::Throttled);
        assert_eq!(
            Outcome::of(&service("ImageNotFoundException", 400)),
            Outcome::Answered
        );
        assert_eq!(
            Outcome::of(&service("InternalServerError", 500)),
            Outcome::Silent
        );
        assert_eq!(
            Outcome::of(&Err::<(), _>(ApiError::Transport("reset".into()))),
            Outcome::Silent
        );
    }

    #[tokio::test(start_paused = true)]
    async fn already_scanned_today_is_not_the_quota() {
        let limited = Adaptive::new(
            Scripted::new().start(Err(crate::ecr::scripted::service("LimitExceededException"))),
            8,
        );
        assert!(limited.start_scan(&image()).await.is_err());
        assert_eq!(limited.limit().limit(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn calls_in_flight_never_exceed_the_limit() {
        let server = Quota::new(None, LATENCY);
        let limited = Adaptive::new(server.clone(), 4);
        let calls: Vec<_> = (0..20)
            .map(|_| {
                let limited = limited.clone();
                tokio::spawn(async move { limited.describe_image(&image()).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(server.counts().most_in_flight, 4);
        assert_eq!(limited.limit().limit(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_call_frees_its_room() {
        // A call given up mid-flight (a findings page that takes a day, past the timeout).
        let limited = Adaptive::new(Scripted::new().slow_pages(), 1);
        let image = image();
        let given_up =
            tokio::time::timeout(Duration::from_secs(1), limited.findings_page(&image, None));
        assert!(given_up.await.is_err());
        assert_eq!(limited.limit().in_flight(), 0);
        assert_eq!(limited.limit().limit(), 1, "giving up is not a throttle");

        // A call given up while it waits for room: the room freed later goes to the next one.
        let limit = CallLimit::new(1);
        let held = limit.acquire().await;
        let waiting = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.acquire().await })
        };
        let next = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.acquire().await })
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        drop(held);
        let permit = tokio::time::timeout(Duration::from_secs(1), next)
            .await
            .expect("the freed room reaches the next waiter")
            .unwrap();
        assert_eq!(limit.in_flight(), 1);
        drop(permit);
        assert_eq!(limit.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_full_window_is_answered_before_its_room_is_reused() {
        let limit = CallLimit::new(2);
        let first = limit.acquire().await;
        let second = limit.acquire().await;
        let third = {
            let limit = limit.clone();
            tokio::spawn(async move {
                let permit = limit.acquire().await;
                (Instant::now(), permit)
            })
        };
        let start = Instant::now();
        tokio::time::sleep(LATENCY).await;
        first.finish(Outcome::Answered);
        // The room is free, but a throttle may yet come for the second call: the third waits
        // for it, or for twice as long as the first answer took, whichever comes first.
        let (admitted, _permit) = third.await.unwrap();
        assert_eq!(admitted - start, 2 * LATENCY);
        drop(second);

        // Once the window is answered its room is reused at once, and later windows are not
        // held while calls keep coming.
        let limit = CallLimit::new(2);
        let (a, b) = (limit.acquire().await, limit.acquire().await);
        drop((a, b));
        let (a, _b) = (limit.acquire().await, limit.acquire().await);
        drop(a);
        let now = Instant::now();
        let _c = limit.acquire().await;
        assert_eq!(Instant::now(), now);
    }

    /// `calls` describe_image calls at once, each tried again (as every step does) until it
    /// gets through: how long they took, and what the server saw.
    async fn burst(server: &Quota, calls: usize, cap: usize) -> (Duration, Vec<usize>) {
        let limited = Adaptive::new(server.clone(), cap);
        let start = Instant::now();
        let deadline = start + Duration::from_secs(600);
        let tasks: Vec<_> = (0..calls)
            .map(|_| {
                let limited = limited.clone();
                tokio::spawn(async move {
                    let image = image();
                    retry::call(deadline, "DescribeImages", || {
                        limited.describe_image(&image)
                    })
                    .await
                })
            })
            .collect();
        let mut limits = vec![limited.limit().limit()];
        for task in tasks {
            task.await.unwrap().expect("every call gets through");
            limits.push(limited.limit().limit());
        }
        (start.elapsed(), limits)
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_quota_100_calls_take_four_round_trips_at_the_default_cap() {
        let server = Quota::new(None, LATENCY);
        let (elapsed, limits) = burst(&server, 100, 32).await;
        // ceil(100 / 32) = 4 round trips of 100 ms (and up to 3.2 ms: the server answers 32
        // requests in the order they came).
        assert!(elapsed >= 4 * LATENCY, "{elapsed:?}");
        assert!(
            elapsed <= 4 * (LATENCY + Duration::from_micros(3200)),
            "{elapsed:?}"
        );
        assert_eq!(server.counts().most_in_flight, 32);
        assert!(limits.iter().all(|l| *l == 32));
    }

    #[tokio::test(start_paused = true)]
    async fn under_a_20_per_second_quota_100_calls_lose_little_more_than_the_first_window() {
        let server = Quota::new(Some(20), LATENCY);
        let (elapsed, limits) = burst(&server, 100, 32).await;
        let counts = server.counts();
        // Starting at the cap, 32 calls go out before any answer; the bucket holds 20, so 12 are
        // throttled whatever the limiter does next (10.7 % of 112 requests). After that first
        // window, at most two more.
        assert!(counts.throttled <= 32 - 20 + 2, "{counts:?}");
        // The floor: 100 calls at 20 a second.
        assert!(elapsed <= Duration::from_secs(5) * 3 / 2, "{elapsed:?}");
        assert!(limits.iter().all(|l| (1..=32).contains(l)));
    }

    #[tokio::test(start_paused = true)]
    async fn under_a_20_per_second_quota_100_images_are_judged_near_the_floor() {
        let server = Quota::new(Some(20), LATENCY);
        let targets: Vec<_> = (0..100)
            .map(|i| {
                let reference = crate::image_ref::parse(&format!("app/svc-{i}:v1")).unwrap();
                (reference, server.clone())
            })
            .collect();
        let wait = WaitSettings {
            timeout: Duration::from_secs(600),
            // The waiter polls a throttled first page again on the fault schedule (200 ms on).
            poll_interval: Duration::from_millis(200),
            max_poll_interval: Duration::from_secs(10),
            scan_grace: Duration::from_secs(10),
            settle: Duration::ZERO,
            start_scan: false,
            once: false,
        };
        let start = Instant::now();
        let images = gate(
            targets,
            None,
            &wait,
            start + wait.timeout,
            Mode::Check,
            &Limits::new(32),
        )
        .await;
        let elapsed = start.elapsed();
        let counts = server.counts();
        assert_eq!(images.len(), 100);
        assert!(images
            .iter()
            .all(|i| i.findings.as_ref().map(Vec::len) == Ok(1)));
        // The floor: 201 calls (the registry's scanning, then DescribeImages and one findings
        // page per image) at 20 a second.
        let floor = Duration::from_millis(201 * 50);
        assert!(elapsed <= floor * 3 / 2, "{elapsed:?}");
        assert!(counts.throttled_share() <= 0.10, "{counts:?}");
    }
}
