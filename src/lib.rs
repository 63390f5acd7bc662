//! ecr-scan-gate: make Amazon ECR image scan results a real gate in CI.
//!
//! The flow, one module per step: [`image_ref`] parses references → [`ecr`] resolves, waits
//! and fetches (the only code that talks to AWS) or [`findings::saved`] reads saved JSON →
//! [`policy`] judges into an [`policy::Evaluation`] → [`report`] renders it → [`exit`] picks
//! the code. [`run`] strings the steps together for each command.

pub mod cli;
pub mod ecr;
pub mod exit;
pub mod findings;
pub mod image_ref;
pub mod live;
pub mod logging;
pub mod policy;
pub mod report;
pub mod run;
pub mod timestamp;
