#!/usr/bin/env bash
# The one command that runs every test (README, .ci/run): installs the external tools the
# tests use (moto, the AWS CLI, check-jsonschema, junitparser, the SARIF multitool,
# gitlab-ci-local, action validators, hadolint) under .tools/, then format, lint, the static
# build and the whole suite.
# Under CI (CI=true, 1 or yes) a test whose tool is missing fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# The static binary the Dockerfile ships, built by the same script; a test runs it.
bash scripts/build-static.sh target/static/ecr-scan-gate >/dev/null
# Includes the fuzz properties at their default case count; FUZZ_CASES raises it (README).
cargo test --locked
