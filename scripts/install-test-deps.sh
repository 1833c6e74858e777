#!/usr/bin/env bash
# Installs the system packages the end-to-end tests drive: a Docker engine, skopeo, podman,
# the reference registry, wrk (the benchmark), PostgreSQL, nginx (the multi-node tests),
# Chromium (the web page tests, through Playwright; never `playwright install`), mmdebstrap
# and docker-compose (the deployment image test: a Debian base image, the compose file's
# check). Runs apt-get only for what is missing, and only as root; elsewhere it says what is
# missing and the tests that need it skip (fail under CI=true).
set -euo pipefail

declare -A wanted=(
  [dockerd]=docker.io
  [busybox]=busybox-static
  [skopeo]=skopeo
  [podman]=podman
  [docker-registry]=docker-registry
  [wrk]=wrk
  [chromium]=chromium
  [/usr/lib/postgresql/15/bin/initdb]=postgresql
  [/usr/sbin/nginx]=nginx
  [mmdebstrap]=mmdebstrap
  [docker-compose]=docker-compose
)

missing=()
for tool in "${!wanted[@]}"; do
  if [[ "$tool" == /* ]]; then
    [[ -x "$tool" ]] || missing+=("${wanted[$tool]}")
  else
    command -v "$tool" >/dev/null 2>&1 || missing+=("${wanted[$tool]}")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "test dependencies: all present"
  exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "test dependencies: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "test dependencies: missing ${missing[*]} (not root or no apt-get);"
  echo "  end-to-end tests that need them will skip (and fail under CI=true)."
fi
