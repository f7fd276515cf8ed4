#!/usr/bin/env bash
# Installs the peers the comparison runs against, from Debian, when missing:
# Dask distributed (python3-distributed, run with /usr/bin/python3) and GNU
# parallel. Needs root (or sudo) and the Debian mirror.
set -euo pipefail
need=()
/usr/bin/python3 -c 'import distributed' 2>/dev/null || need+=(python3-distributed)
command -v parallel >/dev/null 2>&1 && parallel --version 2>/dev/null | grep -q 'GNU parallel' || need+=(parallel)
if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
echo "setup: installing ${need[*]}" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
