//! Every retry schedule of the live path, and the one classification of a failed call. The
//! schedules differ on purpose:
//!
//! - **The SDK's standard retry** (`--max-attempts` attempts inside each call, with its token
//!   bucket; set in `sdk::client`): a blip of a few hundred milliseconds never reaches the gate.
//! - **[`call`]**: a call whose SDK attempts all failed with a [`Fault::Throttling`] or
//!   [`Fault::Transient`] fault is tried again, with jittered backoff from 200 ms to 10 s, until
//!   the run's one deadline: an outage shorter than `--timeout` delays the gate, it does not fail it.
//!   A back-off that would end at or past the deadline is not slept: the call gives up then.
//! - **[`polls`]**: the waiter's delays between polls of a scan still running, from
//!   `--poll-interval` to `--max-poll-interval`. A running scan is not a fault, so these are the
//!   user's delays, not a fault backoff.
//! - **StartImageScan** runs with SDK retries off and [`call`] told not to retry
//!   `LimitExceededException`: there it means "already scanned today", which a retrying client
//!   would take for throttling.
//!
//! Whatever the schedule, no call outlives the deadline by more than [`DEADLINE_GRACE`]
//! ([`before`]), and a fault still there at the deadline is an AWS error (exit 4), never a pass.

use std::future::Future;
use std::time::Duration;

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use tokio::time::Instant;

use super::api::ApiError;

/// What a failed call says about trying it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The rate quota: try again later, and fewer at once.
    Throttling,
    /// A server error or the network: try again.
    Transient,
    /// Asking again gives the same answer.
    Permanent,
}

/// Classifies a failure the way the SDK's standard retry does (its own throttling and transient
/// error codes, from `aws-runtime`), plus what it leaves out: any HTTP 5xx whatever its body
/// (a proxy's HTML 502), HTTP 429 with no error code, and the network.
pub fn classify(error: &ApiError) -> Fault {
    match error {
        ApiError::Service { code, status, .. } => {
            if *status == 429 || THROTTLING_ERRORS.contains(&code.as_str()) {
                Fault::Throttling
            } else if *status >= 500 || TRANSIENT_ERRORS.contains(&code.as_str()) {
                Fault::Transient
            } else {
                Fault::Permanent
            }
        }
        ApiError::Transport(_) => Fault::Transient,
        ApiError::BadAnswer(_) | ApiError::Credentials(_) => Fault::Permanent,
    }
}

/// How long a call in flight at the deadline may still take to report its own error (the SDK
/// may be between its attempts), before it is given up.
pub const DEADLINE_GRACE: Duration = Duration::from_secs(30);

/// `call`, given up `DEADLINE_GRACE` after the deadline: however many attempts and back-offs the
/// SDK makes inside one call, and however long a server hangs, the run ends. Giving up is a
/// transport error, so still failing then is exit 4.
pub async fn before<T>(
    deadline: Instant,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout_at(deadline + DEADLINE_GRACE, call)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::Transport(
                "no answer by the --timeout deadline".to_string(),
            ))
        })
}

/// The backoff between tries of one call after a fault: jittered, from 200 ms to 10 s.
fn faults() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .without_max_times()
}

/// One ECR call, tried again after throttling or a transient fault until `deadline`.
pub async fn call<T, Fut>(
    deadline: Instant,
    what: &str,
    attempt: impl FnMut() -> Fut,
) -> Result<T, ApiError>
where
    Fut: Future<Output = Result<T, ApiError>>,
{
    call_with(deadline, what, attempt, |_| false, |_| false).await
}

/// [`call`], also tried again whenever `also` says so (an image not visible yet, during its
/// grace); `never` names the failures not to retry even when transient (StartImageScan's
/// LimitExceeded).
pub async fn call_with<T, Fut>(
    deadline: Instant,
    what: &str,
    mut attempt: impl FnMut() -> Fut,
    also: impl Fn(&ApiError) -> bool,
    never: impl Fn(&ApiError) -> bool,
) -> Result<T, ApiError>
where
    Fut: Future<Output = Result<T, ApiError>>,
{
    (|| before(deadline, attempt()))
        .retry(faults())
        .when(|e| !never(e) && (classify(e) != Fault::Permanent || also(e)))
        // Tries take time of their own (the SDK's attempts, a slow server), so a budget of
        // back-offs fixed at the start could still sleep past the deadline: each back-off is
        // weighed when it is due, and one that would not end before the deadline is not slept.
        .adjust(|_, delay| delay.filter(|d| Instant::now() + *d < deadline))
        .notify(|e, delay| tracing::debug!(error = %e, ?delay, "{what} again"))
        .await
}

/// The waiter's delays between polls: doubling from the poll interval, with jitter, up to the
/// max poll interval. The jitter stays once the cap is reached (delays vary within
/// `[max/2, max]`), so gates started together never poll in lockstep. `seed` makes the jitter
/// repeatable for tests.
pub fn polls(poll: Duration, max: Duration, seed: Option<u64>) -> impl Iterator<Item = Duration> {
    // backon adds up to 100% of the capped delay as jitter: capping at max/2 gives [max/2, max).
    let mut builder = ExponentialBuilder::default()
        .with_min_delay(poll)
        .with_max_delay(max / 2)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    if let Some(seed) = seed {
        builder = builder.with_jitter_seed(seed);
    }
    builder.build().map(move |d| d.clamp(poll, max.max(poll)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(code: &str, status: u16) -> ApiError {
        ApiError::Service {
            code: code.to_string(),
            message: String::new(),
            status,
        }
    }

    #[test]
    fn faults_are_classified_like_the_sdk_and_more() {
        assert_eq!(
            classify(&service("ThrottlingException", 400)),
            Fault::Throttling
        );
        assert_eq!(classify(&service("HTTP 429", 429)), Fault::Throttling);
        assert_eq!(classify(&service("RequestTimeout", 400)), Fault::Transient);
        assert_eq!(classify(&service("HTTP 502", 502)), Fault::Transient);
        assert_eq!(classify(&service("ServerException", 500)), Fault::Transient);
        assert_eq!(
            classify(&ApiError::Transport("reset".into())),
            Fault::Transient
        );
        assert_eq!(
            classify(&service("AccessDeniedException", 400)),
            Fault::Permanent
        );
        assert_eq!(
            classify(&ApiError::Credentials("none".into())),
            Fault::Permanent
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_call_is_tried_again_until_it_answers() {
        let tries = std::sync::atomic::AtomicU32::new(0);
        let answer = call(Instant::now() + Duration::from_secs(60), "test", || async {
            match tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Err(service("HTTP 429", 429)),
                1 => Err(service("HTTP 503", 503)),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(answer, Ok(7));
        assert_eq!(tries.into_inner(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn never_wins_over_transient_and_nothing_is_tried_past_the_deadline() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let tries = std::sync::atomic::AtomicU32::new(0);
        let answer: Result<(), _> = call_with(
            deadline,
            "test",
            || async {
                tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Err(service("LimitExceededException", 400))
            },
            |_| false,
            |e| e.code() == Some("LimitExceededException"),
        )
        .await;
        assert!(answer.is_err());
        assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 1);

        let answer: Result<(), _> =
            call(deadline, "test", || async { Err(service("HTTP 500", 500)) }).await;
        assert!(answer.is_err());
        assert!(Instant::now() <= deadline + Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn no_back_off_is_slept_past_the_deadline_however_long_the_tries_take() {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(1);
        let tries = std::sync::Mutex::new(Vec::new());
        let answer: Result<(), _> = call(deadline, "test", || async {
            tries.lock().unwrap().push(Instant::now() - start);
            // A try that takes most of what is left, as the SDK's own attempts can.
            tokio::time::sleep(Duration::from_millis(900)).await;
            Err(service("HTTP 503", 503))
        })
        .await;
        assert!(answer.is_err());
        assert_eq!(
            tries.into_inner().unwrap(),
            [Duration::ZERO],
            "a back-off of 200 ms or more from 0.9 s would end past the deadline at 1 s"
        );
        assert_eq!(Instant::now() - start, Duration::from_millis(900));
    }

    #[test]
    fn polls_grow_from_poll_to_max_and_stay_in_bounds() {
        let poll = Duration::from_secs(5);
        let max = Duration::from_secs(30);
        let delays: Vec<Duration> = polls(poll, max, Some(7)).take(20).collect();
        assert!(delays.iter().all(|d| *d >= poll && *d <= max), "{delays:?}");
        assert!(
            delays[0] < Duration::from_secs(10),
            "first delay starts near the poll interval: {delays:?}"
        );
        let late = &delays[10..];
        assert!(
            late.iter().all(|d| *d >= max / 2 && *d <= max),
            "at the cap delays stay within [max/2, max]: {delays:?}"
        );
        assert!(
            late.iter().any(|d| *d != late[0]),
            "the jitter stays at the cap, so gates never poll in lockstep: {late:?}"
        );
    }

    #[test]
    fn jitter_varies_between_seeds() {
        let a: Vec<Duration> = polls(Duration::from_secs(1), Duration::from_secs(60), Some(1))
            .take(5)
            .collect();
        let b: Vec<Duration> = polls(Duration::from_secs(1), Duration::from_secs(60), Some(2))
            .take(5)
            .collect();
        assert_ne!(a, b);
    }
}
