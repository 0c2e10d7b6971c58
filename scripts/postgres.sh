#!/usr/bin/env bash
# Makes sure Debian's PostgreSQL server binaries (initdb, postgres, psql) are installed: the
# Postgres integration test (tests/postgres_cluster.py) starts a private cluster of its own
# with them and runs a Prefect server on it. Only the binaries are used: the package's own
# cluster and service are stopped, the test never touches them.
# Idempotent: does nothing when they are there; else installs Debian's `postgresql` with
# apt-get (as root, or through sudo).
set -euo pipefail

have_postgres() {
  local bin
  for bin in /usr/lib/postgresql/*/bin; do
    [ -x "$bin/initdb" ] && [ -x "$bin/postgres" ] && [ -x "$bin/psql" ] && return 0
  done
  return 1
}

if have_postgres; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin and no apt-get to" \
    "install them: install PostgreSQL (initdb, postgres, psql) for the Postgres test" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "Installing Debian's postgresql for the Prefect-on-Postgres integration test"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  postgresql >/dev/null
# The package starts its own cluster where systemd runs; the test starts a private one.
$sudo service postgresql stop >/dev/null 2>&1 || true
have_postgres
