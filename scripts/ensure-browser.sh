#!/usr/bin/env bash
# The ops dashboard's browser test (test/dashboard.test.ts) drives Debian's Chromium with
# playwright-core: playwright's own browser download is not reachable from CI machines, the
# Debian package is. Installs it when missing; a no-op when it is there (or CHROMIUM_PATH is set).
set -euo pipefail

if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "${CHROMIUM_PATH}" ]; then exit 0; fi
if [ -x /usr/bin/chromium ]; then exit 0; fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "[browser] no /usr/bin/chromium and no apt-get: install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "[browser] /usr/bin/chromium is missing and installing it needs root: apt-get install chromium" >&2
    exit 1
  fi
fi
echo "[browser] installing Debian's chromium (apt-get, non-interactive)" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt run on the machine holds the lock for a while: wait for it rather than fail.
APT_OPTS=(-qq -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
$SUDO apt-get "${APT_OPTS[@]}" update >/dev/null
$SUDO apt-get "${APT_OPTS[@]}" install -y --no-install-recommends chromium >/dev/null
if [ ! -x /usr/bin/chromium ]; then
  echo "[browser] apt-get finished but /usr/bin/chromium is still missing" >&2
  exit 1
fi
echo "[browser] $(/usr/bin/chromium --version 2>/dev/null || echo chromium installed)" >&2
