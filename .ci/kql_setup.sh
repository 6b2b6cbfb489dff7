#!/usr/bin/env bash
# Set up the KQL check (tests/sources/test_kql_language_service.py): Node.js and npm (Debian's
# packages, only when missing), then the Kusto language service pinned in
# tests/kql/package-lock.json. Safe to run again; uses only the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "kql_setup: node and npm are needed; install them (e.g. apt-get install nodejs npm) and rerun" >&2
        exit 1
    fi
    echo "== installing nodejs and npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q nodejs npm
fi
echo "== node $(node --version), npm $(npm --version)"
npm ci --prefix tests/kql --no-audit --no-fund
