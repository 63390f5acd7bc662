//! The `admission.k8s.io/v1` AdmissionReview, as the API server sends it and as the webhook
//! answers it: a minimal typed model of the fields the webhook reads and writes.
//!
//! Not kube-core's admission types: they bring k8s-openapi (every Kubernetes type, chosen by a
//! cargo feature per Kubernetes version) for the eight fields used here, and the object is
//! read by the deploy reader either way, as the JSON text it arrived as.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

const API_VERSION: &str = "admission.k8s.io/v1";
const KIND: &str = "AdmissionReview";

/// A review request, checked to be one.
#[derive(Debug)]
pub struct Request {
    /// Echoed in the answer: the API server matches answers by it.
    pub uid: String,
    /// The object's kind (`Pod`, `Deployment`, …).
    pub kind: String,
    /// `ephemeralcontainers` for `kubectl debug`, else empty.
    pub sub_resource: String,
    /// `CREATE`, `UPDATE`, `DELETE`, `CONNECT`.
    pub operation: String,
    /// The object's namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// The object's name; empty for a Pod created with `generateName` (a ReplicaSet's).
    pub name: String,
    /// The object as JSON text, exactly as sent; `None` for DELETE.
    pub object: Option<String>,
    /// The object before an UPDATE.
    pub old_object: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    api_version: Option<String>,
    kind: Option<String>,
    #[serde(borrow)]
    request: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    uid: String,
    kind: GroupVersionKind,
    #[serde(default)]
    sub_resource: Option<String>,
    operation: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(borrow, default)]
    object: Option<&'a RawValue>,
    #[serde(borrow, default)]
    old_object: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct GroupVersionKind {
    kind: String,
}

/// Reads a request body; `Err` says why it is no AdmissionReview (the answer is HTTP 400).
pub fn parse(body: &[u8]) -> Result<Request, String> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| format!("not an AdmissionReview: {e}"))?;
    if envelope.api_version.as_deref() != Some(API_VERSION)
        || envelope.kind.as_deref() != Some(KIND)
    {
        return Err(format!(
            "not an {API_VERSION} {KIND} (apiVersion {:?}, kind {:?}): set admissionReviewVersions: [v1]",
            envelope.api_version.unwrap_or_default(),
            envelope.kind.unwrap_or_default()
        ));
    }
    let request = envelope
        .request
        .ok_or_else(|| "an AdmissionReview without a request".to_string())?;
    let wire: Wire = serde_json::from_str(request.get())
        .map_err(|e| format!("an AdmissionReview whose request is not one: {e}"))?;
    if wire.uid.trim().is_empty() {
        return Err("an AdmissionReview request without a uid".to_string());
    }
    let text = |raw: Option<&RawValue>| {
        raw.map(|r| r.get().to_string())
            .filter(|t| t.trim() != "null")
    };
    Ok(Request {
        uid: wire.uid,
        kind: wire.kind.kind,
        sub_resource: wire.sub_resource.unwrap_or_default(),
        operation: wire.operation,
        namespace: wire.namespace.unwrap_or_default(),
        name: wire.name.unwrap_or_default(),
        object: text(wire.object),
        old_object: text(wire.old_object),
    })
}

/// The webhook's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Whether the API server may go on.
    pub allowed: bool,
    /// Why not, when refused (shown by kubectl).
    pub message: Option<String>,
    /// Shown by kubectl as `Warning:` lines, each under 256 characters.
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Reply<'a> {
    api_version: &'static str,
    kind: &'static str,
    response: Response<'a>,
}

#[derive(Serialize)]
struct Response<'a> {
    uid: &'a str,
    allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

/// A `metav1.Status` as the API server passes it on to the client.
#[derive(Serialize)]
struct Status<'a> {
    code: u16,
    status: &'static str,
    reason: &'static str,
    message: &'a str,
}

/// The AdmissionReview answering `uid`.
pub fn reply(uid: &str, answer: &Answer) -> Vec<u8> {
    let reply = Reply {
        api_version: API_VERSION,
        kind: KIND,
        response: Response {
            uid,
            allowed: answer.allowed,
            status: (!answer.allowed).then(|| Status {
                code: 403,
                status: "Failure",
                reason: "Forbidden",
                message: answer
                    .message
                    .as_deref()
                    .unwrap_or("refused by ecr-scan-gate"),
            }),
            warnings: &answer.warnings,
        },
    };
    serde_json::to_vec(&reply).expect("an answer always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_review_is_read_with_its_object_as_sent() {
        let body = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
            "uid":"705ab4f5-6393-11e8-b7cc-42010a800002","kind":{"group":"","version":"v1","kind":"Pod"},
            "resource":{"group":"","version":"v1","resource":"pods"},"subResource":"ephemeralcontainers",
            "namespace":"shop","operation":"UPDATE","userInfo":{"username":"admin"},
            "object":{"kind":"Pod","spec":{"containers":[]}},"oldObject":null,"dryRun":false}}"#;
        let request = parse(body).unwrap();
        assert_eq!(request.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(request.kind, "Pod");
        assert_eq!(request.sub_resource, "ephemeralcontainers");
        assert_eq!(request.namespace, "shop");
        assert_eq!(
            request.object.as_deref(),
            Some(r#"{"kind":"Pod","spec":{"containers":[]}}"#)
        );
        assert_eq!(request.old_object, None, "null is no object");
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for (body, why) in [
            (&b"not json"[..], "not an AdmissionReview"),
            (br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}"#, "v1beta1"),
            (br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#, "without a request"),
            (br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":" ","kind":{"kind":"Pod"},"operation":"CREATE"}}"#, "without a uid"),
        ] {
            let err = parse(body).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn a_refusal_is_403_with_the_uid_and_an_allowance_has_no_status() {
        let refused: serde_json::Value = serde_json::from_slice(&reply(
            "u-1",
            &Answer {
                allowed: false,
                message: Some("no".into()),
                warnings: vec!["w".into()],
            },
        ))
        .unwrap();
        assert_eq!(refused["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(refused["response"]["uid"], "u-1");
        assert_eq!(refused["response"]["allowed"], false);
        assert_eq!(refused["response"]["status"]["code"], 403);
        assert_eq!(refused["response"]["status"]["message"], "no");
        assert_eq!(refused["response"]["warnings"][0], "w");
        let allowed: serde_json::Value = serde_json::from_slice(&reply(
            "u-2",
            &Answer {
                allowed: true,
                message: None,
                warnings: Vec::new(),
            },
        ))
        .unwrap();
        assert_eq!(allowed["response"]["allowed"], true);
        assert!(allowed["response"].get("status").is_none());
        assert!(allowed["response"].get("warnings").is_none());
    }
}
