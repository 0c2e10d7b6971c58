#!/usr/bin/env bash
# Makes sure the tools the browser-access and systemd tests drive are installed:
# - a headless Chromium (tests/browser.py opens `aiwf-console serve` in it over DevTools),
# - systemd-analyze (tests/engine/test_systemd_units.py runs `verify` and `security` on the
#   shipped units; `--offline` needs no running systemd, so a container will do).
# Idempotent: does nothing when both are there; else installs Debian's packages with apt-get
# (as root, or through sudo).
set -euo pipefail

have_browser() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || command -v google-chrome >/dev/null 2>&1
}
# --offline arrived in systemd 250.
have_analyze() {
  command -v systemd-analyze >/dev/null 2>&1 \
    && [ "$(systemd-analyze --version | awk 'NR==1 {print $2}')" -ge 250 ]
}

packages=()
have_browser || packages+=(chromium)
have_analyze || packages+=(systemd)
if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing ${packages[*]} and no apt-get to install them: install a Chromium (chromium on" \
    "PATH) and systemd >= 250 (systemd-analyze) for the browser and systemd tests" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "Installing Debian's ${packages[*]} for the browser-access and systemd unit tests"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${packages[@]}" >/dev/null
have_browser
have_analyze
