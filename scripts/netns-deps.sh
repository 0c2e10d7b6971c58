#!/usr/bin/env bash
# Makes sure `ip` (iproute2) is installed: tests/integration/test_many_hosts.py builds two
# worker hosts as network namespaces with `ip netns` and veth pairs. Idempotent; installs
# Debian's iproute2 with apt-get (as root, or through sudo) when `ip` is missing.
set -euo pipefail
if command -v ip >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no \`ip\` command and no apt-get: install iproute2 for the multi-host test" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "Installing Debian's iproute2 for the multi-host (network namespace) test"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends iproute2
