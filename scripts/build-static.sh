#!/usr/bin/env bash
# Builds the static (musl) release binary exactly as the Dockerfile does; the test suite runs
# this same script, so the container's binary is the one that was tested.
# usage: build-static.sh [OUT_PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
case "$(uname -m)" in
  x86_64) target=x86_64-unknown-linux-musl ;;
  aarch64 | arm64) target=aarch64-unknown-linux-musl ;;
  *) echo "unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target"
if ! command -v musl-gcc >/dev/null 2>&1; then
  (apt-get install -y -qq musl-tools >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq musl-tools >/dev/null; })
fi
export CC_x86_64_unknown_linux_musl=musl-gcc CC_aarch64_unknown_linux_musl=musl-gcc
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target"
out="${1:-target/static/ecr-scan-gate}"
mkdir -p "$(dirname "$out")"
cp "target/$target/release/ecr-scan-gate" "$out"
echo "$out"
