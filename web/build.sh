#!/usr/bin/env bash
# Builds the dashboard into server/dashboard/dist, which the Go binary
# embeds (go:embed). The built files are committed, so `go build` works
# from a fresh clone without Node; run this after changing web/src.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm test
npm run build
