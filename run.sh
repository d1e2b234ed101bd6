#!/usr/bin/env bash
# homeroute's front door. Each verb installs what it needs first (Node 22 and pnpm into .tools/
# when the machine's are older, then the workspace), so a fresh machine needs nothing by hand.
#   ./run.sh start    the whole planet locally (add --fresh to start clean)
#   ./run.sh test     typecheck, lint and every test (what CI runs)
#   ./run.sh bench    the benchmarks (bench/RESULTS.md records them)
#   ./run.sh cell     one regional cell (REGION, DATABASE_URL, ... see README)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

verb="${1:-help}"
shift || true
case "$verb" in
  start)
    exec pnpm --filter @homeroute/sim start "$@"
    ;;
  globalctl)
    exec pnpm globalctl "$@"
    ;;
  test)
    bash scripts/ensure-services.sh
    # Debian's Chromium for the dashboard's browser test; without it only that test fails.
    bash scripts/ensure-browser.sh || echo "[browser] no Chromium: test/dashboard.test.ts will fail" >&2
    exec pnpm test "$@"
    ;;
  bench)
    bash scripts/ensure-services.sh
    exec pnpm bench "$@"
    ;;
  cell)
    exec pnpm --filter ./apps/cell start "$@"
    ;;
  *)
    sed -n '2,9p' "$0"
    ;;
esac
