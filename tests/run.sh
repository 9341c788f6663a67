#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Runs the test suite: every unit test binary build/tests/**/test_* and every
# tests/integration/test_*.sh and tests/interop/test_*.sh script, each under
# a timeout, and ends with exactly one line "N passed, N failed". Counts come
# from cmocka's "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" lines
# and from each script's own "N passed, N failed" line. A script exiting 77
# is skipped (reported, not counted); a binary or script that crashes, times
# out or prints no count is one failure.
#
# Usage: tests/run.sh [FILE...]   (default: everything)
# Env: UNIT_TIMEOUT (s, default 300), SCRIPT_TIMEOUT (s, default 420),
#      VERBOSE=1 shows every output, not only failures, VALGRIND=1 also
#      runs every unit test binary under valgrind memcheck
#      (tests/valgrind.supp): each clean binary counts one pass, each with
#      an error, a definite leak or a failing test one failure.

set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1

UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
SCRIPT_TIMEOUT=${SCRIPT_TIMEOUT:-420}
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/atcal-run.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT

passed=0
failed=0
skipped=0
failures=()

show_log() {
	sed 's/^/    | /' "$1" | tail -n "${2:-80}"
}

# Runs one cmocka binary; adds its counts.
run_unit() {
	local bin=$1 log="$LOGDIR/unit.log" rc p f s
	timeout -k 10 "$UNIT_TIMEOUT" "$bin" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$log" |
	    awk '{s += $1} END {print s + 0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$log" |
	    awk '{s += $1} END {print s + 0}')
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) test(s).*/\1/p' "$log" |
	    awk '{s += $1} END {print s + 0}')
	if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ] &&
	    [ "$s" -gt 0 ]; then
		# Every test skipped itself (fixtures absent): say why.
		skipped=$((skipped + 1))
		echo "SKIP  $bin: $(grep -m1 -i 'skip' "$log")"
		return
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# Crashed, timed out or failed outside a test.
		f=1
	fi
	if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "    (no cmocka summary line)" >>"$log"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -eq 0 ]; then
		echo "PASS  $bin ($p passed)"
		[ -z "${VERBOSE:-}" ] || show_log "$log"
	else
		echo "FAIL  $bin ($p passed, $f failed, exit $rc)"
		show_log "$log"
		failures+=("$bin")
	fi
}

# Runs one integration/interop script; adds its counts.
run_script() {
	local script=$1 log="$LOGDIR/script.log" rc line p f start secs
	start=$(date +%s)
	timeout -k 20 "$SCRIPT_TIMEOUT" bash "$script" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "SKIP  $script: $(grep -m1 'SKIP' "$log" | sed 's/.*SKIP: //')"
		return
	fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*, }
		f=${f%% failed*}
	else
		p=0
		f=0
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		[ "$rc" -ne 124 ] || echo "    (timed out after ${SCRIPT_TIMEOUT}s)" >>"$log"
		f=1
	fi
	if [ "$rc" -eq 0 ] && [ -z "$line" ]; then
		echo "    (no 'N passed, N failed' line)" >>"$log"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -eq 0 ]; then
		echo "PASS  $script ($p passed, ${secs}s)"
		[ -z "${VERBOSE:-}" ] || show_log "$log" 100000
	else
		echo "FAIL  $script ($p passed, $f failed, exit $rc, ${secs}s)"
		show_log "$log" 200
		failures+=("$script")
	fi
}

# Runs one cmocka binary under memcheck; one pass or one failure.
run_valgrind() {
	local bin=$1 log="$LOGDIR/valgrind.log" rc
	timeout -k 10 "$UNIT_TIMEOUT" valgrind -q --error-exitcode=99 \
	    --leak-check=full --errors-for-leak-kinds=definite \
	    --suppressions="$ROOT/tests/valgrind.supp" "$bin" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS  valgrind $bin"
	else
		failed=$((failed + 1))
		echo "FAIL  valgrind $bin (exit $rc)"
		show_log "$log"
		failures+=("valgrind:$bin")
	fi
}

run_one() {
	case "$1" in
	*.sh)	run_script "$1" ;;
	*)	if [ -x "$1" ]; then
			run_unit "$1"
		else
			echo "FAIL  $1 (missing or not executable)"
			failed=$((failed + 1))
			failures+=("$1")
		fi ;;
	esac
}

if [ $# -gt 0 ]; then
	for t in "$@"; do
		run_one "$t"
	done
else
	if [ -d build/tests ]; then
		while IFS= read -r t; do
			run_one "$t"
		done < <(find build/tests -type f -perm -u+x -name 'test_*' \
		    ! -name '*.[od]' | sort)
	fi
	for t in tests/integration/test_*.sh tests/interop/test_*.sh; do
		[ -f "$t" ] && run_one "$t"
	done
	if [ -n "${VALGRIND:-}" ] && [ -d build/tests ]; then
		if command -v valgrind >/dev/null; then
			echo "valgrind: unit tests under memcheck"
			while IFS= read -r t; do
				run_valgrind "$t"
			done < <(find build/tests -type f -perm -u+x \
			    -name 'test_*' ! -name '*.[od]' | sort)
		else
			echo "FAIL  valgrind: not installed"
			failed=$((failed + 1))
			failures+=("valgrind")
		fi
	fi
	# The same unit tests, and the paths that parse bytes from strangers
	# end to end, again with the AddressSanitizer/UBSan build when one
	# exists (make test builds it into build-asan/).
	if [ -n "${SANITIZED:-}" ] && [ -d "$SANITIZED/tests" ]; then
		export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
		export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
		export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp}
		while IFS= read -r t; do
			run_one "$t"
		done < <(find "$SANITIZED/tests" -type f -perm -u+x \
		    -name 'test_*' ! -name '*.[od]' | sort)
		echo "sanitized: end-to-end and hostile-input scripts"
		T_BIN=$SANITIZED/bin run_one tests/interop/test_pipeline_pds.sh
		CONSUMER_BIN=$SANITIZED/bin/consumer \
		    run_one tests/integration/test_consumer_hostile.sh
		API_BIN=$SANITIZED/bin/api \
		    run_one tests/integration/test_api_hostile.sh
	fi
fi

if [ "$skipped" -gt 0 ]; then
	echo "($skipped skipped)"
fi
if [ "${#failures[@]}" -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
