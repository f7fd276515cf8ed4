#!/usr/bin/env bash
# Installs and starts what the test suite needs, where missing. Idempotent.
set -euo pipefail
need=()
apt_install() {
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "deps: missing $*; install them (as root: apt-get install -y $*)" >&2
		exit 1
	fi
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
command -v sh >/dev/null || need+=(dash)
if [ ${#need[@]} -gt 0 ]; then
	apt_install "${need[@]}"
fi
