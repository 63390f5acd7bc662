//! ecr-scan-gate: make Amazon ECR image scan results a real gate in CI.
//!
//! One room per step, in flow order: [`cli`] turns flags into settings → [`image_ref`] parses
//! references → [`ecr`] resolves, waits and fetches through its `ScanApi` seam (the SDK behind
//! it is the only code that talks to AWS), or [`findings::saved`] reads saved JSON, both into
//! the [`findings`] model → [`policy`] is the validated policy → [`judge`] decides every state
//! and verdict into an [`evaluation`] → [`report`] renders it → [`exit`] names the code.
//! [`app`] runs the steps for each command; [`serve`] (started by `main`) runs them per admission review
//! (images read by [`deploy`], judged by [`judge`]); [`error`] is how a run can stop early.

#![warn(missing_docs)]

pub mod app;
pub mod cli;
pub mod deploy;
pub mod ecr;
pub mod error;
pub mod evaluation;
pub mod exit;
pub mod findings;
pub mod image_ref;
pub mod judge;
pub mod logging;
pub mod policy;
pub mod report;
pub mod serve;
pub mod timestamp;
