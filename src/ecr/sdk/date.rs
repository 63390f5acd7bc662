//! ECR's clock: the HTTP `Date` header of an answer. The SDK's typed outputs drop response
//! headers, so an interceptor added to one call ([`ServerDate`]) reads the header of the
//! response that call deserializes and keeps it for the caller.

use std::sync::{Arc, Mutex};

use aws_sdk_ecr::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_ecr::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ecr::error::BoxError;
use aws_smithy_types::date_time::{DateTime, Format};

/// The `Date` header of one call's answer, RFC 3339 in UTC. A fresh one per call: clones share
/// the slot, so the call's interceptor fills what the caller then takes.
#[derive(Clone, Debug, Default)]
pub struct ServerDate(Arc<Mutex<Option<String>>>);

impl ServerDate {
    /// The date of the last response read: with SDK retries inside a call, the attempt whose
    /// answer the call returned. `None` when the answer had no readable `Date` header.
    pub fn take(&self) -> Option<String> {
        self.0.lock().map(|mut date| date.take()).unwrap_or(None)
    }
}

impl Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "ServerDate"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let header = context.response().headers().get("date");
        let date = header.and_then(|value| {
            let parsed = parse(value);
            if parsed.is_none() {
                tracing::debug!(date = value, "an unreadable Date header in ECR's answer");
            }
            parsed
        });
        if let Ok(mut slot) = self.0.lock() {
            *slot = date;
        }
        Ok(())
    }
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110's IMF-fixdate) as RFC 3339 UTC.
fn parse(value: &str) -> Option<String> {
    let date = DateTime::from_str(value.trim(), Format::HttpDate).ok()?;
    crate::timestamp::from_epoch_parts(date.secs(), date.subsec_nanos()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_date_is_read_as_rfc_3339_utc() {
        assert_eq!(
            parse("Thu, 20 Nov 2025 09:14:31 GMT").as_deref(),
            Some("2025-11-20T09:14:31.000Z")
        );
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("Thu, 20 Nov 2025 09:14:31 +0100"), None);
        assert_eq!(parse("xé1234"), None);
    }

    #[test]
    fn the_slot_is_shared_by_clones_and_taken_once() {
        let date = ServerDate::default();
        *date.clone().0.lock().unwrap() = Some("2025-11-20T09:14:31.000Z".into());
        assert_eq!(date.take().as_deref(), Some("2025-11-20T09:14:31.000Z"));
        assert_eq!(date.take(), None);
    }
}
