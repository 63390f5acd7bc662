#!/bin/sh
# One sticky comment with the Markdown report: on the pull request (GitHub Action, `comment:
# true`) or the merge request (GitLab template, ECR_SCAN_GATE_MR_NOTE=true). The comment starts
# with a hidden marker line; later runs find it (every page of comments) and edit it instead of
# posting another, so the request shows one verdict that stays current.
#
#   comment.sh github|gitlab REPORT.md
#
# github: GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_PATH (.pull_request.number),
#         GITHUB_SERVER_URL and GITHUB_RUN_ID (the job summary a cut report points to);
#         ECR_SCAN_GATE_COMMENT_AUTHOR, the login the comments are posted as (default: the
#         token's user, or github-actions[bot] for a workflow's GITHUB_TOKEN)
# gitlab: GITLAB_TOKEN, CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID, CI_JOB_URL
#
# Only a comment both marked and written by the token's own user is edited: anyone can post
# the marker, and a forged "pass" must never become the comment the gate keeps current.
#
# POSIX sh with curl and jq: it runs on GitHub's runners and in the gate's Alpine image. The
# token reaches curl only through a private header file (printf is a builtin, so it is never a
# process argument) and is never printed. Exit 0 when the comment is in place or there is no
# request to comment on; 1 when it could not be posted (callers warn: a missing comment never
# changes the gate's verdict).
set -eu

say() { printf '%s\n' "$*" >&2; }

[ "$#" -eq 2 ] || { say "usage: comment.sh github|gitlab REPORT.md"; exit 1; }
forge=$1
report=$2
marker='<!-- ecr-scan-gate -->'
[ -f "$report" ] || { say "no report at $report: nothing to comment"; exit 1; }
for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is not installed: cannot comment"; exit 1; }
done

umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'rm -rf "$tmp"; exit 1' INT TERM

case $forge in
  github)
    number=""
    if [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ]; then
      number=$(jq -r '.pull_request.number // empty' "$GITHUB_EVENT_PATH")
    fi
    if [ -z "$number" ]; then
      say "::notice::not a pull request: no comment posted (the report is in the job summary)"
      exit 0
    fi
    [ -n "${GITHUB_TOKEN:-}" ] || { say "GITHUB_TOKEN is empty: cannot comment"; exit 1; }
    api=${GITHUB_API_URL:-https://api.github.com}
    printf 'Authorization: Bearer %s\n' "$GITHUB_TOKEN" > "$tmp/auth"
    create="$api/repos/${GITHUB_REPOSITORY:?}/issues/$number/comments"
    list="$create?per_page=100"
    item="$api/repos/$GITHUB_REPOSITORY/issues/comments"
    edit=PATCH
    # GitHub's limit for a comment body, in characters.
    limit=65536
    where="${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/${GITHUB_RUN_ID:-}"
    ;;
  gitlab)
    number=${CI_MERGE_REQUEST_IID:-}
    if [ -z "$number" ]; then
      say "not a merge request pipeline: no note posted (the report is in the job's artifacts)"
      exit 0
    fi
    [ -n "${GITLAB_TOKEN:-}" ] || { say "GITLAB_TOKEN is empty: cannot post the note"; exit 1; }
    api=${CI_API_V4_URL:?}
    printf 'PRIVATE-TOKEN: %s\n' "$GITLAB_TOKEN" > "$tmp/auth"
    create="$api/projects/${CI_PROJECT_ID:?}/merge_requests/$number/notes"
    list="$create?per_page=100&sort=asc"
    item=$create
    edit=PUT
    # GitLab's limit for a note, in characters.
    limit=1000000
    where=${CI_JOB_URL:-the job}
    ;;
  *) say "unknown forge '$forge' (github or gitlab)"; exit 1 ;;
esac
case $number in *[!0-9]*) say "'$number' is not a request number"; exit 1 ;; esac

# METHOD URL [BODY_FILE]: the answer in $tmp/answer, its headers in $tmp/headers. Only the
# method, the path and the status are ever printed.
request() {
  if [ "$#" -eq 3 ]; then
    status=$(curl -sS -X "$1" -H @"$tmp/auth" -H 'Accept: application/json' -H 'Content-Type: application/json' \
      --data-binary @"$3" -o "$tmp/answer" -D "$tmp/headers" -w '%{http_code}' "$2") || status=000
  else
    status=$(curl -sS -X "$1" -H @"$tmp/auth" -H 'Accept: application/json' \
      -o "$tmp/answer" -D "$tmp/headers" -w '%{http_code}' "$2") || status=000
  fi
  case $status in
    2??) return 0 ;;
    *)
      say "$1 ${2%%\?*} answered HTTP $status: $(jq -r '.message // empty' "$tmp/answer" 2>/dev/null | head -c 300)"
      return 1
      ;;
  esac
}

# Who the gate's comments are written by.
if [ "$forge" = github ]; then
  who=${ECR_SCAN_GATE_COMMENT_AUTHOR:-}
  # A personal token can say who it is; a workflow's GITHUB_TOKEN cannot (403) and posts as
  # github-actions[bot].
  if [ -z "$who" ] && request GET "$api/user" 2>/dev/null; then
    who=$(jq -r '.login // empty' "$tmp/answer")
  fi
  who=${who:-github-actions[bot]}
  author='.user.login // ""'
else
  request GET "$api/user" || { say "cannot tell whose GITLAB_TOKEN this is (GET /user): not posting"; exit 1; }
  who=$(jq -r '.id // empty' "$tmp/answer")
  [ -n "$who" ] || { say "GET /user named no user: not posting"; exit 1; }
  author='(.author.id // "") | tostring'
fi

# The comment that carries the marker, on whichever page it is.
found=""
page=1
url=$list
while [ -n "$url" ]; do
  request GET "$url" || exit 1
  found=$(jq -r --arg m "$marker" --arg who "$who" \
    "[.[] | select(((.body // \"\") | startswith(\$m)) and (($author) == \$who)) | .id] | first // empty" \
    "$tmp/answer")
  [ -z "$found" ] || break
  if [ "$forge" = github ]; then
    # Follow `Link: <…>; rel="next"`, and only to the same API: the token goes with it.
    url=$(tr -d '\r' < "$tmp/headers" | sed -n 's/^[Ll]ink:.*<\([^>]*\)>; *rel="next".*/\1/p' | head -n 1)
    case $url in "$api"/*) ;; *) url="" ;; esac
  else
    next=$(tr -d '\r' < "$tmp/headers" | sed -n 's/^[Xx]-[Nn]ext-[Pp]age: *\([0-9][0-9]*\).*/\1/p' | head -n 1)
    url=${next:+$list&page=$next}
  fi
  page=$((page + 1))
  [ "$page" -le 1000 ] || { say "more than 1000 pages of comments: giving up"; exit 1; }
done
case $found in *[!0-9]*) say "the marked comment has an unexpected id"; exit 1 ;; esac

# The body: the marker line, then the report, cut to the limit with a pointer to the whole.
pointer="

---
*Cut to fit the comment limit: the full report is in the job summary of $where.*"
jq -Rs --arg head "$marker" --arg pointer "$pointer" --argjson limit "$limit" '
  ($head + "\n") as $h
  | if (($h + .) | length) <= $limit then {body: ($h + .)}
    else {body: ($h + .[0:($limit - ($h | length) - ($pointer | length))] + $pointer)}
    end' "$report" > "$tmp/request"

if [ -n "$found" ]; then
  request "$edit" "$item/$found" "$tmp/request" || exit 1
  say "updated the ecr-scan-gate comment ($found)"
else
  request POST "$create" "$tmp/request" || exit 1
  say "posted the ecr-scan-gate comment"
fi
