//! Timestamps and dates: AWS gives ISO-8601 strings (CLI) or epoch seconds (API/SDK); reports
//! always show RFC 3339 in UTC so `check` and `evaluate` print the same thing. The clock is
//! read here and nowhere else.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

/// An RFC 3339 timestamp (as the AWS CLI prints it), rewritten in UTC with milliseconds.
pub fn parse_rfc3339(text: &str) -> Result<String, String> {
    let parsed = instant(text).map_err(|e| format!("invalid timestamp `{text}`: {e}"))?;
    format(parsed)
}

/// RFC 3339, or ISO 8601 with a `+hhmm` offset.
fn instant(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    let trimmed = text.trim();
    OffsetDateTime::parse(trimmed, &Rfc3339)
        .or_else(|e| OffsetDateTime::parse(&with_offset_colon(trimmed).ok_or(e)?, &Rfc3339))
}

/// ISO 8601 also writes offsets as `+hhmm` (some tools save `2020-01-24T15:11:45+1100`);
/// RFC 3339 wants `+hh:mm`. Works on characters, never byte offsets: the text is outside input.
fn with_offset_colon(text: &str) -> Option<String> {
    // The split is at a character boundary found by walking characters.
    let (at, _) = text.char_indices().rev().nth(4)?;
    let (head, offset) = text.split_at(at);
    let [sign, h1, h2, m1, m2]: [char; 5] = offset.chars().collect::<Vec<_>>().try_into().ok()?;
    let digits = [h1, h2, m1, m2].iter().all(char::is_ascii_digit);
    (matches!(sign, '+' | '-') && digits && head.contains('T'))
        .then(|| format!("{head}{sign}{h1}{h2}:{m1}{m2}"))
}

/// Epoch seconds, possibly fractional, as an RFC 3339 UTC timestamp.
pub fn from_epoch_seconds(seconds: f64) -> Result<String, String> {
    if !seconds.is_finite() {
        return Err(format!("invalid epoch timestamp {seconds}"));
    }
    let nanos = (seconds * 1e9).round() as i128;
    let parsed = OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map_err(|e| format!("invalid epoch timestamp {seconds}: {e}"))?;
    format(parsed)
}

/// Epoch seconds plus nanoseconds, as the SDK's `DateTime` stores them.
pub fn from_epoch_parts(seconds: i64, nanos: u32) -> Result<String, String> {
    let parsed =
        OffsetDateTime::from_unix_timestamp_nanos(seconds as i128 * 1_000_000_000 + nanos as i128)
            .map_err(|e| format!("invalid epoch timestamp {seconds}: {e}"))?;
    format(parsed)
}

fn format(t: OffsetDateTime) -> Result<String, String> {
    // Millisecond precision is all AWS ever gives; rounding keeps float noise out of reports.
    let millis = (t.nanosecond() + 500_000) / 1_000_000;
    let t = t
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(millis.min(999) * 1_000_000)
        .map_err(|e| e.to_string())?;
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&format).map_err(|e| e.to_string())
}

/// Now in UTC to the second without an offset (`2026-12-01T22:41:54`), as GitLab's report
/// schema wants its scan times.
pub fn now_to_the_second() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00".to_string())
}

/// How long ago an RFC 3339 time was, on the local clock; `None` for an unreadable or future
/// time.
pub fn age(rfc3339: &str) -> Option<std::time::Duration> {
    let then = OffsetDateTime::parse(rfc3339.trim(), &Rfc3339).ok()?;
    std::time::Duration::try_from(OffsetDateTime::now_utc() - then).ok()
}

/// How long before the RFC 3339 time `later` the RFC 3339 time `earlier` was, with no local
/// clock involved; `None` when either is unreadable or `earlier` is after `later`.
pub fn between(earlier: &str, later: &str) -> Option<std::time::Duration> {
    let earlier = OffsetDateTime::parse(earlier.trim(), &Rfc3339).ok()?;
    let later = OffsetDateTime::parse(later.trim(), &Rfc3339).ok()?;
    std::time::Duration::try_from(later - earlier).ok()
}

/// An RFC 3339 instant (offsets with or without a colon), for ordering VEX statements.
pub fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    instant(text).map_err(|e| format!("invalid timestamp `{text}` (expected RFC 3339): {e}"))
}

/// A calendar date: `2024-07-09`, or the UTC date of an RFC 3339 timestamp (risk feeds write
/// both).
pub fn parse_date(text: &str) -> Result<Date, String> {
    calendar_date(text)
        .or_else(|_| parse_instant(text).map(|t| t.to_offset(UtcOffset::UTC).date()))
        .map_err(|_| format!("`{text}` is not a date like 2024-07-09"))
}

/// A bare calendar date, `2027-01-31`, as policy files write `expires`.
pub fn calendar_date(text: &str) -> Result<Date, time::error::Parse> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format)
}

/// Today's date in UTC: allowlist entries expire at the end of their date, UTC.
pub fn today_utc() -> Date {
    OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_normalised_to_utc() {
        assert_eq!(
            parse_rfc3339("2019-12-04T13:53:08-08:00").unwrap(),
            "2019-12-04T21:53:08.000Z"
        );
        assert_eq!(
            parse_rfc3339("2026-11-20T09:14:31.512000+00:00").unwrap(),
            "2026-11-20T09:14:31.512Z"
        );
    }

    #[test]
    fn offsets_without_a_colon_are_accepted() {
        assert_eq!(
            parse_rfc3339("2020-01-24T15:11:45+1100").unwrap(),
            "2020-01-24T04:11:45.000Z"
        );
        assert_eq!(
            parse_rfc3339("2020-01-24T15:11:45.25-0130").unwrap(),
            "2020-01-24T16:41:45.250Z"
        );
        assert!(parse_rfc3339("2020-01-24 1100").is_err());
    }

    #[test]
    fn epoch_seconds_match_the_iso_form() {
        assert_eq!(
            from_epoch_seconds(1763630071.512).unwrap(),
            "2025-11-20T09:14:31.512Z"
        );
        assert_eq!(
            from_epoch_parts(1763630071, 512_000_000).unwrap(),
            "2025-11-20T09:14:31.512Z"
        );
    }

    #[test]
    fn age_of_a_past_time_and_none_for_the_future() {
        let age = age("2020-01-01T00:00:00Z").unwrap();
        assert!(age > std::time::Duration::from_secs(5 * 365 * 86_400));
        assert_eq!(super::age("2999-01-01T00:00:00Z"), None);
        assert_eq!(super::age("soon"), None);
    }

    #[test]
    fn between_two_times_whatever_the_local_clock() {
        assert_eq!(
            between("2020-01-01T00:00:00.000Z", "2020-01-01T00:01:30.500Z"),
            Some(std::time::Duration::from_millis(90_500))
        );
        assert_eq!(
            between("2020-01-01T00:01:30Z", "2020-01-01T00:00:00Z"),
            None
        );
        assert_eq!(between("xé1234", "2020-01-01T00:00:00Z"), None);
    }

    #[test]
    fn dates_come_bare_or_from_a_timestamp() {
        assert_eq!(parse_date("2024-07-09").unwrap().to_string(), "2024-07-09");
        assert_eq!(
            parse_date("2026-11-30T23:01:44.6254-05:00")
                .unwrap()
                .to_string(),
            "2026-12-01"
        );
        assert!(parse_date("09/07/2024").is_err());
        assert!(parse_instant("2026-11-30T17:01:44+0100").is_ok());
    }

    #[test]
    fn hostile_text_is_an_error_never_a_panic() {
        for text in [
            "xé1234",
            "é",
            "2020-01-24Té+1100",
            "2020-01-24T15:11:45+11é0",
            "🦀🦀🦀🦀🦀",
            "",
        ] {
            assert!(parse_rfc3339(text).is_err(), "{text}");
            assert!(parse_instant(text).is_err(), "{text}");
            assert!(parse_date(text).is_err(), "{text}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(parse_rfc3339("yesterday").is_err());
        assert!(from_epoch_seconds(f64::NAN).is_err());
    }
}
