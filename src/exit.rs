//! Exit codes: the contract a pipeline acts on, and the one function that picks the code for a
//! finished run. Usage errors (2) are decided before any work, in `run` and `live`.

use crate::findings::ErrorKind;
use crate::policy::{ImageEvaluation, Verdict};

/// Every image passes the policy.
pub const PASS: u8 = 0;
/// At least one image violates the policy.
pub const POLICY_VIOLATION: u8 = 1;
/// Usage or configuration error: bad flag, policy file, image reference or input JSON.
pub const USAGE: u8 = 2;
/// A scan is not usable: timed out, failed, unsupported, eligibility expired, not found.
pub const SCAN_UNUSABLE: u8 = 3;
/// AWS error: credentials, access denied, repository or image not found, network after retries.
pub const AWS_ERROR: u8 = 4;

/// The worst outcome wins: 4 > 3 > 1 > 0. No image at all is not a pass.
pub fn for_images(images: &[ImageEvaluation]) -> u8 {
    if images.is_empty() {
        return USAGE;
    }
    images
        .iter()
        .map(image_code)
        .max_by_key(|code| severity_rank(*code))
        .unwrap_or(PASS)
}

fn image_code(image: &ImageEvaluation) -> u8 {
    match (&image.error, image.verdict) {
        (Some(e), _) if e.kind == ErrorKind::Aws => AWS_ERROR,
        (Some(_), _) => SCAN_UNUSABLE,
        (None, Verdict::Fail) => POLICY_VIOLATION,
        (None, Verdict::Error) => SCAN_UNUSABLE,
        (None, Verdict::Pass) => PASS,
    }
}

fn severity_rank(code: u8) -> u8 {
    match code {
        AWS_ERROR => 4,
        SCAN_UNUSABLE => 3,
        USAGE => 2,
        POLICY_VIOLATION => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::ImageError;
    use crate::policy::tests::image_with;

    #[test]
    fn worst_code_wins_in_the_documented_order() {
        let pass = image_with(Verdict::Pass, None);
        let fail = image_with(Verdict::Fail, None);
        let scan = image_with(Verdict::Error, Some(ImageError::scan("x")));
        let aws = image_with(Verdict::Error, Some(ImageError::aws("x")));
        assert_eq!(for_images(std::slice::from_ref(&pass)), PASS);
        assert_eq!(for_images(&[pass.clone(), fail.clone()]), POLICY_VIOLATION);
        assert_eq!(for_images(&[fail.clone(), scan.clone()]), SCAN_UNUSABLE);
        assert_eq!(for_images(&[aws, scan, fail, pass]), AWS_ERROR);
        assert_eq!(for_images(&[]), USAGE);
    }
}
