#!/usr/bin/env bash
# Installs the toolchain this repository pins (Node 22, pnpm) into .tools/ when the machine's
# own is older, then installs the workspace. Sourced by ./run.sh so PATH carries over.
# Why: a fresh machine (and CI) must need nothing installed by hand (README, "Quick start").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION=22.23.3
PNPM_VERSION=12.4.2
TOOLS="$ROOT/.tools"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt 22 ]; then
  if [ ! -x "$TOOLS/node/node_modules/.bin/node" ]; then
    echo "[bootstrap] Node $(node --version 2>/dev/null || echo none) < 22: installing node@$NODE_VERSION into .tools/node" >&2
    npm i --silent --no-audit --no-fund --prefix "$TOOLS/node" "node@$NODE_VERSION" >&2
  fi
  export PATH="$TOOLS/node/node_modules/.bin:$PATH"
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  if [ ! -x "$TOOLS/pnpm/node_modules/.bin/pnpm" ]; then
    echo "[bootstrap] installing pnpm@$PNPM_VERSION into .tools/pnpm" >&2
    npm i --silent --no-audit --no-fund --prefix "$TOOLS/pnpm" "pnpm@$PNPM_VERSION" >&2
  fi
  export PATH="$TOOLS/pnpm/node_modules/.bin:$PATH"
fi

# Skip the install when node_modules is already newer than the lockfile (a second's saving per call).
if [ -f "$ROOT/node_modules/.modules.yaml" ] && [ "$ROOT/node_modules/.modules.yaml" -nt "$ROOT/pnpm-lock.yaml" ]; then
  HOMEROUTE_SKIP_INSTALL=1
fi
if [ "${HOMEROUTE_SKIP_INSTALL:-}" != "1" ]; then
  (cd "$ROOT" && pnpm install --frozen-lockfile --reporter=silent >&2) || \
    (cd "$ROOT" && pnpm install --reporter=silent >&2)
fi
