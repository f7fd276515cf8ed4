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
# The dashboard's script tests run on Node (server/dashboard_test.go).
command -v node >/dev/null || need+=(nodejs)
# The network partition test puts a worker in a network namespace (internal/e2e/partition_test.go).
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
	apt_install "${need[@]}"
fi

# PostgreSQL for the store/postgres conformance suite and the
# several-coordinator tests: a server on 127.0.0.1:5432 that lets user
# postgres in without a password, with a database "test". Skipped when
# MYRIAD_TEST_POSTGRES points elsewhere.
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if [ -z "${MYRIAD_TEST_POSTGRES:-}" ]; then
	if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
		apt_install postgresql postgresql-client
	fi
	if ! pg_ready; then
		if [ "$(id -u)" != 0 ]; then
			echo "deps: PostgreSQL is not running on 127.0.0.1:5432; start it (as root: pg_ctlcluster <version> main start)" >&2
			exit 1
		fi
		ver=$(ls /etc/postgresql | sort -V | tail -n1)
		conf=/etc/postgresql/$ver/main
		# Trust local TCP connections (a test machine), listen on loopback.
		if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"; then
			sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$conf/pg_hba.conf"
		fi
		pg_ctlcluster --skip-systemctl-redirect "$ver" main start || pg_ctlcluster "$ver" main start
		for _ in $(seq 1 60); do pg_ready && break; sleep 0.5; done
		pg_ready || { echo "deps: PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
	fi
	if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'SELECT 1' >/dev/null 2>&1; then
		psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE test' >/dev/null ||
			{ echo "deps: cannot create database test on 127.0.0.1:5432 as user postgres (is trust auth set for 127.0.0.1?)" >&2; exit 1; }
	fi
fi
