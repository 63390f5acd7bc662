//! The one integration test binary: runs the real `ecr-scan-gate` (assert_cmd), snapshots what
//! it prints (insta), and checks every report with validators written elsewhere.
//!
//! `cargo test --test integration`; new or changed snapshots: `INSTA_UPDATE=always cargo test
//! --test integration`, then review every changed `.snap` file. The external validators come
//! from `scripts/install-tools.sh` (under `.tools/`, or `$ECR_SCAN_GATE_TOOLS_DIR`); without
//! them the checks are skipped with a note, except under `CI=true`, where they must be present.

mod audit;
mod deployed;
mod evaluate;
mod fake_ecr;
mod faults;
mod fuzz;
mod integrations;
mod live;
mod manifests;
mod moto;
mod one_rule;
mod promote;
mod reports;
mod risk;
mod serve;
mod structure;
mod util;
