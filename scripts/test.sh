#!/usr/bin/env bash
# Runs myriad's whole test suite. On a fresh machine it first installs and
# starts what the tests need (when run as root with apt-get available), and
# fails loudly if it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null; then
	echo "test: Go is not installed (https://go.dev/dl/); myriad needs Go 1.26 or newer" >&2
	exit 1
fi

# Services and tools later parts of the suite use are set up by
# scripts/deps.sh (idempotent; a no-op when everything is present).
bash scripts/deps.sh

go vet ./...
exec go test -race -timeout 30m -count=1 ./...
