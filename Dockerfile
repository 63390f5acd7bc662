# syntax=docker/dockerfile:1
# Build a static musl binary with the same script the test suite runs, then ship it alone in a
# small image with a shell (GitLab CI jobs need one) and a non-root user.
FROM rust:1.95-bookworm AS build
# Distribution package versions are not pinned: pinned versions vanish from the mirrors, and a
# rebuild should pick up security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/build-static.sh /out/ecr-scan-gate

FROM alpine:3.22
# curl and jq: the GitLab template's merge-request note (ci/comment.sh).
# hadolint ignore=DL3018
RUN apk add --no-cache ca-certificates curl jq \
 && adduser -D -H -u 10001 gate
COPY --from=build /out/ecr-scan-gate /usr/local/bin/ecr-scan-gate
COPY ci/comment.sh /usr/local/share/ecr-scan-gate/comment.sh
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/ecr-scan-gate"]
CMD ["--help"]
