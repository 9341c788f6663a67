#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Runs the given unit test binaries (the Makefile's `unit` target) with the
# same counting and final "N passed, N failed" line as tests/run.sh.
#
# Usage: tests/run_unit.sh BIN...

if [ $# -eq 0 ]; then
	echo "no unit test binaries given"
	echo "0 passed, 0 failed"
	exit 0
fi
exec "$(dirname "$0")/run.sh" "$@"
