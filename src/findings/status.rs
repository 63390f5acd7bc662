//! What each ECR / Inspector scan status means for a gate: judge now, keep waiting, or give up
//! with a message that says what to do. The waiter and the offline reader share this table, so
//! a status is never "usable" in one path and an error in the other.

/// The verdict on a scan status string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Usability {
    /// Findings can be judged.
    Usable,
    /// The scan is still running; poll again.
    Pending,
    /// The scan will not produce usable findings; the message explains and suggests a fix.
    Unusable(String),
    /// The status is usable but the answer carries no findings list at all: it says nothing
    /// about the image, so it is never a clean one (enhanced: not delivered yet; basic or saved:
    /// malformed).
    NoFindingsList,
}

/// Which findings lists an answer carried (`imageScanFindings.findings`, `.enhancedFindings`),
/// whether it came from ECR just now or from a saved file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lists {
    /// `findings` (basic) was present, even empty.
    pub basic: bool,
    /// `enhancedFindings` was present, even empty.
    pub enhanced: bool,
}

impl Lists {
    /// Neither list: not "no findings", but no answer about findings.
    pub fn none(self) -> bool {
        !self.basic && !self.enhanced
    }
}

/// An answer's status and lists, judged once for the live and the offline path alike.
pub fn classify_answer(status: &str, description: Option<&str>, lists: Lists) -> Usability {
    match classify(status, description) {
        Usability::Usable if lists.none() => Usability::NoFindingsList,
        other => other,
    }
}

/// Every page of one read must report the first page's status: a page that reports another
/// was read while the scan changed, and the read is not judged. Returns the other status.
pub fn moved<'a>(first: &str, page: &'a str) -> Option<&'a str> {
    (first != page).then_some(page)
}

/// Classifies a `ScanStatus` value (service model 2015-09-21). The comparison is on the string
/// so a value added after this build is an error, never a pass.
pub fn classify(status: &str, description: Option<&str>) -> Usability {
    let detail = description
        .filter(|d| !d.trim().is_empty())
        .map(|d| format!(" (ECR: {})", d.trim()))
        .unwrap_or_default();
    let unusable =
        |what: &str| Usability::Unusable(format!("scan status {status}{detail}: {what}"));
    match status {
        "COMPLETE" | "ACTIVE" => Usability::Usable,
        "IN_PROGRESS" | "PENDING" => Usability::Pending,
        "FAILED" => unusable("the scan failed; push the image again or start a new scan"),
        "UNSUPPORTED_IMAGE" => unusable(
            "ECR cannot scan this image (operating system or package manager not supported); \
             use a supported base image or gate with another scanner",
        ),
        "SCAN_ELIGIBILITY_EXPIRED" => unusable(
            "Inspector stopped scanning this image because its scan duration expired; push the \
             image again or raise the registry's scan duration",
        ),
        "FINDINGS_UNAVAILABLE" => unusable(
            "findings are not available for this image (Inspector no longer tracks it); push it \
             again or check the enhanced scanning configuration",
        ),
        "LIMIT_EXCEEDED" => unusable(
            "the account's scan limit was reached; retry later or ask AWS to raise the quota",
        ),
        "IMAGE_ARCHIVED" => unusable(
            "the image is archived and is not scanned; restore it to the standard storage class first",
        ),
        "IMAGE_SIZE_EXCEEDED" => unusable("the image is larger than the scanner accepts; make it smaller"),
        _ => Usability::Unusable(format!(
            "unrecognised scan status `{status}`{detail}: refusing to judge findings this version \
             does not understand (upgrade ecr-scan-gate)"
        )),
    }
}

/// Message for a scan that ECR has no record of after the grace period.
pub fn not_found_message() -> String {
    "no scan found for this image: enable scan on push for the repository (or enhanced \
     scanning for the registry), or pass --start-scan"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_and_active_are_usable() {
        assert_eq!(classify("COMPLETE", None), Usability::Usable);
        assert_eq!(classify("ACTIVE", None), Usability::Usable);
    }

    #[test]
    fn in_progress_and_pending_keep_polling() {
        assert_eq!(classify("IN_PROGRESS", None), Usability::Pending);
        assert_eq!(classify("PENDING", None), Usability::Pending);
    }

    #[test]
    fn every_error_status_is_unusable_with_its_name() {
        for status in [
            "FAILED",
            "UNSUPPORTED_IMAGE",
            "SCAN_ELIGIBILITY_EXPIRED",
            "FINDINGS_UNAVAILABLE",
            "LIMIT_EXCEEDED",
            "IMAGE_ARCHIVED",
            "IMAGE_SIZE_EXCEEDED",
        ] {
            match classify(status, Some("detail from ECR")) {
                Usability::Unusable(msg) => {
                    assert!(
                        msg.contains(status) && msg.contains("detail from ECR"),
                        "{msg}"
                    )
                }
                other => panic!("{status} gave {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_future_status_is_never_usable() {
        assert!(
            matches!(classify("QUARANTINED", None), Usability::Unusable(m) if m.contains("unrecognised"))
        );
        assert!(matches!(classify("complete", None), Usability::Unusable(_)));
    }
}
