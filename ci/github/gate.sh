#!/usr/bin/env bash
# The GitHub Action's script (action.yml runs it; tests run it directly). Every input arrives
# as an INPUT_* environment variable, never spliced into shell source, so a hostile input is
# only ever an argument. Writes outputs to $GITHUB_OUTPUT and the Markdown report to
# $GITHUB_STEP_SUMMARY (and, with INPUT_COMMENT=true, as one sticky pull-request comment), then
# fails the step on a non-zero exit (policy violations excepted when INPUT_FAIL_STEP=false).
set -uo pipefail
# Lists are split on whitespace below; a `*` in an input must stay a literal, not a glob.
set -f

say() { printf '%s\n' "$*" >&2; }
input() { local name="INPUT_$1"; printf '%s' "${!name:-}"; }
# Splits a list input on commas and whitespace (newlines included).
list() { printf '%s' "$1" | tr ',\n\t' '   '; }

# The comment token goes to the comment script alone: not to the gate, the installer or cargo.
comment_token=${INPUT_GITHUB_TOKEN:-}
unset INPUT_GITHUB_TOKEN

workdir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/ecr-scan-gate-$$"
mkdir -p "$workdir"

locate_binary() {
  if [ -n "${ECR_SCAN_GATE_BINARY:-}" ]; then
    printf '%s' "$ECR_SCAN_GATE_BINARY"
    return
  fi
  if command -v ecr-scan-gate >/dev/null 2>&1; then
    command -v ecr-scan-gate
    return
  fi
  install_release || install_from_source
}

# A release asset for this runner, checked against its published SHA-256.
install_release() {
  local repo="${ACTION_REPOSITORY:-ecr-scan-gate/ecr-scan-gate}" version target ext url dest
  version=$(input VERSION)
  if [ -z "$version" ] || [ "$version" = "latest" ]; then
    version="${ACTION_REF:-latest}"
  fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) target=x86_64-unknown-linux-musl ;;
    Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
    Darwin-x86_64) target=x86_64-apple-darwin ;;
    Darwin-arm64) target=aarch64-apple-darwin ;;
    MINGW* | MSYS* | CYGWIN*) target=x86_64-pc-windows-msvc ;;
    *) say "no release asset for $(uname -s)-$(uname -m)"; return 1 ;;
  esac
  ext=tar.gz
  [ "$target" = x86_64-pc-windows-msvc ] && ext=zip
  case "$version" in
    latest) url="https://github.com/$repo/releases/latest/download" ;;
    v[0-9]*) url="https://github.com/$repo/releases/download/$version" ;;
    *) say "action ref $version is not a release; building from source"; return 1 ;;
  esac
  dest="$workdir/bin"
  mkdir -p "$dest"
  local asset="ecr-scan-gate-$target.$ext"
  curl -fsSL --retry 3 -o "$workdir/$asset" "$url/$asset" || return 1
  curl -fsSL --retry 3 -o "$workdir/$asset.sha256" "$url/$asset.sha256" || return 1
  (cd "$workdir" && sha256sum -c "$asset.sha256" >&2) || { say "checksum mismatch for $asset"; return 1; }
  if [ "$ext" = zip ]; then unzip -q -o "$workdir/$asset" -d "$dest"; else tar -xzf "$workdir/$asset" -C "$dest"; fi
  find "$dest" -name 'ecr-scan-gate*' -type f -perm -u+x | head -n 1
}

install_from_source() {
  say "installing ecr-scan-gate with cargo from ${GITHUB_ACTION_PATH:-.}"
  cargo install --locked --quiet --path "${GITHUB_ACTION_PATH:-.}" --root "$workdir/cargo" >&2 || return 1
  printf '%s' "$workdir/cargo/bin/ecr-scan-gate"
}

bin=$(locate_binary) || { say "::error::could not install ecr-scan-gate"; exit 2; }
[ -n "$bin" ] && [ -x "$bin" ] || { say "::error::ecr-scan-gate binary not found ($bin)"; exit 2; }

case "$(input COMMENT)" in
  true | false | "") ;;
  *) say "::error::input 'comment' must be true or false, not '$(input COMMENT)'"; exit 2 ;;
esac

args=(check)
# shellcheck disable=SC2207 # word splitting on whitespace is the contract of this input
images=($(list "$(input IMAGES)"))
[ "${#images[@]}" -gt 0 ] || { say "::error::input 'images' is empty"; exit 2; }
[ -n "$(input FAIL_ON)" ] && args+=(--fail-on "$(input FAIL_ON)")
for budget in $(list "$(input MAX)"); do args+=(--max "$budget"); done
# Empty leaves the policy file's value; true or false overrides it.
[ -n "$(input IGNORE_UNFIXED)" ] && args+=("--ignore-unfixed=$(input IGNORE_UNFIXED)")
for id in $(list "$(input ALLOW)"); do args+=(--allow "$id"); done
[ -n "$(input POLICY)" ] && args+=(--policy "$(input POLICY)")
for vex in $(list "$(input VEX)"); do args+=(--vex "$vex"); done
[ -n "$(input KEV)" ] && args+=(--kev "$(input KEV)")
[ -n "$(input EPSS)" ] && args+=(--epss "$(input EPSS)")
[ -n "$(input FAIL_ON_EPSS)" ] && args+=(--fail-on-epss "$(input FAIL_ON_EPSS)")
[ -n "$(input FAIL_ON_EXPLOITABLE)" ] && args+=(--fail-on-exploitable "$(input FAIL_ON_EXPLOITABLE)")
[ -n "$(input BASELINE)" ] && args+=(--baseline "$(input BASELINE)")
[ -n "$(input BASELINE_IMAGE)" ] && args+=(--baseline-image "$(input BASELINE_IMAGE)")
[ -n "$(input TIMEOUT)" ] && args+=(--timeout "$(input TIMEOUT)")
[ -n "$(input SETTLE)" ] && args+=(--settle "$(input SETTLE)")
[ -n "$(input POLL_INTERVAL)" ] && args+=(--poll-interval "$(input POLL_INTERVAL)")
[ "$(input START_SCAN)" = true ] && args+=(--start-scan)
[ -n "$(input REGION)" ] && args+=(--region "$(input REGION)")
[ -n "$(input REGISTRY_ID)" ] && args+=(--registry-id "$(input REGISTRY_ID)")
for tag in $(list "$(input PROMOTE_TAG)"); do args+=(--promote-tag "$tag"); done

json="$workdir/report.json"
markdown="$workdir/summary.md"
sarif=$(input SARIF_FILE)
junit=$(input JUNIT_FILE)
args+=(-o console -o "json=$json" -o "markdown=$markdown")
[ -n "$sarif" ] && args+=(-o "sarif=$sarif")
[ -n "$junit" ] && args+=(-o "junit=$junit")

"$bin" "${args[@]}" -- "${images[@]}"
code=$?

if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$markdown" ]; then
  cat "$markdown" >> "$GITHUB_STEP_SUMMARY"
fi
# The comment is for reviewers; it never changes the step's outcome, which is the gate's.
if [ "$(input COMMENT)" = true ]; then
  body=$markdown
  if [ ! -f "$body" ]; then
    # No report (a usage error or a failed install): the comment must not keep an old verdict.
    body="$workdir/no-report.md"
    printf '## ECR scan gate: ⚠️ error\n\nThe gate wrote no report (exit %s): see the job log.\n' "$code" > "$body"
  fi
  GITHUB_TOKEN=$comment_token sh "${GITHUB_ACTION_PATH:-.}/ci/comment.sh" github "$body" \
    || say "::warning::the ecr-scan-gate pull-request comment was not posted (does the job have pull-requests: write?)"
fi

# The multi-line form with a random delimiter: a newline in an input cannot forge an output.
output() {
  [ -n "${GITHUB_OUTPUT:-}" ] || return 0
  local delimiter="ecr_scan_gate_$RANDOM$RANDOM$RANDOM"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delimiter" "$2" "$delimiter" >> "$GITHUB_OUTPUT"
}
output exit-code "$code"
# Only files that were written: an upload step must not chase a report that does not exist.
[ -n "$sarif" ] && [ -f "$sarif" ] && output sarif-file "$sarif"
[ -n "$junit" ] && [ -f "$junit" ] && output junit-file "$junit"
[ -f "$json" ] && output json-file "$json"
if [ -f "$json" ] && ! command -v jq >/dev/null 2>&1; then
  say "::warning::jq is not installed: verdict and counts outputs are not set"
elif [ -f "$json" ]; then
  output verdict "$(jq -r '.verdict' "$json")"
  output digest "$(jq -r '[.images[].digest // empty] | first // ""' "$json")"
  for sev in critical high medium low informational unknown; do
    output "$sev" "$(jq -r --arg s "$sev" '[.images[].counts[$s].total] | add // 0' "$json")"
  done
  output violations "$(jq -r '[.images[].counts[].violations] | add // 0' "$json")"
  # Each tag once, in the order asked: what is on the judged digests now.
  output promoted "$(jq -r 'reduce (.images[].promoted[]?.tag) as $t ([]; if index([$t]) then . else . + [$t] end) | join(",")' "$json")"
  output promoted-digest "$(jq -r '[.images[].promoted[]?.digest] | first // ""' "$json")"
else
  # No report: a usage error (exit 2) stopped the gate before it ran.
  output verdict error
fi

# fail-step: false softens policy violations only; an unusable scan, an AWS error or a usage
# error always fails the step, so no error can pass as a clean gate.
if [ "$code" -eq 1 ] && [ "$(input FAIL_STEP)" = false ]; then
  say "::warning::ecr-scan-gate found policy violations; not failing the step (fail-step: false)"
  exit 0
fi
exit "$code"
