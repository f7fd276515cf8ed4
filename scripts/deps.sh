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
# The annotator app's browser test drives Debian's Chromium (human/browser_test.go).
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
	apt_install "${need[@]}"
fi
