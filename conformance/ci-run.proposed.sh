#!/usr/bin/env bash
# CI: install what the tests need from scratch, run the README test command, then the tempest
# conformance suite. Proposed by the conformance harness (conformance/ci-run.proposed.sh) for .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi

# The OpenStack tools from Debian's archive: tempest for `npm run conformance`, the openstack CLI
# and openstacksdk for the client scenarios in test/conformance (which skip when these are absent).
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
  tempest python3-tempest python3-stestr python3-openstackclient python3-openstacksdk

npm ci

# The README test command (includes test/conformance: the CLI and SDK lifecycle scenarios).
npm test

# OpenStack's own test suite against a fresh novabox: prints "N passed, N failed, N skipped";
# non-zero on any failure. Bounded so the whole CI run stays well under 30 minutes.
npm run conformance -- --no-install --timeout 900
