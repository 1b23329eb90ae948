# lib.sh: helpers of the integration tests: simulator, config, daemon, client, assertions.
#
# Sourced by tests/integ/*.test, which tests/integ/run starts with bash -eu -o pipefail in a
# private directory $T. Processes started here run in their own session (setsid) and their ids go
# to $T/pids so that run can stop their process groups whatever happens to the test. Waiting is
# always for a condition, with a bound; never a bare sleep.

if [ -z "${T:-}" ] || [ -z "${TOP_BUILDDIR:-}" ] || [ -z "${TOP_SRCDIR:-}" ]; then
	echo "lib.sh: run tests through tests/integ/run (T, TOP_BUILDDIR, TOP_SRCDIR unset)" >&2
	exit 99
fi

export LC_ALL=C
set -E
TEST_NAME=$(basename "$0" .test)
trap 'lib_rc=$?; echo "FAIL: $TEST_NAME: line $LINENO: \"$BASH_COMMAND\" exited $lib_rc" >&2' ERR

TSSIM=$TOP_BUILDDIR/tests/sim/tssim
TSINVD=$TOP_BUILDDIR/daemon/tsinvd
TSINVCTL=$TOP_BUILDDIR/client/tsinvctl
TJQ=$TOP_BUILDDIR/tests/tjq
SOCKPROBE=$TOP_BUILDDIR/tests/sockprobe
SCENARIOS=$TOP_SRCDIR/tests/sim/scenarios
CONF=$T/tsinvd.conf
SOCK=$T/run/tsinvd.sock
API_TOKEN=tskey-api-test
SIM_URL=
SIM_PID=
DAEMON_PID=

for lib_bin in "$TSSIM" "$TSINVD" "$TSINVCTL" "$TJQ" "$SOCKPROBE"; do
	if [ ! -x "$lib_bin" ]; then
		echo "lib.sh: $lib_bin is not built (make check builds it)" >&2
		exit 99
	fi
done

# ---- messages and assertions ----

note() {
	echo "# $*"
}

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

# A broken harness or environment, not a product failure.
hard_error() {
	echo "ERROR: $TEST_NAME: $*" >&2
	exit 99
}

assert_eq() {
	if [ "$1" != "$2" ]; then
		fail "${3:-values differ}"$'\n'"  expected: $1"$'\n'"  got:      $2"
	fi
}

assert_ne() {
	if [ "$1" = "$2" ]; then
		fail "${3:-values are equal}"$'\n'"  both: $1"
	fi
}

# assert_match REGEX ACTUAL MSG: extended regular expression, anywhere in ACTUAL.
assert_match() {
	if ! [[ $2 =~ $1 ]]; then
		fail "${3:-no match}"$'\n'"  expected to match: $1"$'\n'"  got: $2"
	fi
}

assert_no_match() {
	if [[ $2 =~ $1 ]]; then
		fail "${3:-unexpected match}"$'\n'"  expected not to match: $1"$'\n'"  got: $2"
	fi
}

# assert_line LINE TEXT MSG: TEXT has LINE as one of its lines.
assert_line() {
	if ! grep -qxF -e "$1" <<<"$2"; then
		fail "${3:-missing line}"$'\n'"  expected a line: $1"$'\n'"  got: $2"
	fi
}

# assert_line_match REGEX TEXT MSG: one of TEXT's lines matches the extended REGEX whole.
assert_line_match() {
	if ! grep -qxE -e "$1" <<<"$2"; then
		fail "${3:-missing line}"$'\n'"  expected a line matching: $1"$'\n'"  got: $2"
	fi
}

assert_no_line() {
	if grep -qxF -e "$1" <<<"$2"; then
		fail "${3:-unexpected line}"$'\n'"  expected no line: $1"$'\n'"  got: $2"
	fi
}

# assert_exit N CMD...: CMD must exit with status N. Its output stays in $T/last.out and
# $T/last.err for the caller to inspect; both are shown on failure.
assert_exit() {
	local want=$1 rc=0
	shift
	"$@" >"$T/last.out" 2>"$T/last.err" || rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$* exited $rc, expected $want"$'\n'"  stdout: $(head -c 2000 "$T/last.out")"$'\n'"  stderr: $(head -c 2000 "$T/last.err")"
	fi
}

# assert_fail CMD...: CMD must exit non-zero (output in $T/last.out, $T/last.err).
assert_fail() {
	local rc=0
	"$@" >"$T/last.out" 2>"$T/last.err" || rc=$?
	if [ "$rc" = 0 ]; then
		fail "$* succeeded, expected a failure"$'\n'"  stdout: $(head -c 2000 "$T/last.out")"
	fi
}

# ---- JSON and time ----

tjq() {
	"$TJQ" "$@"
}

# jget PATH JSON: the value at PATH of the JSON text; fails the test when it is missing.
jget() {
	local v rc=0
	v=$("$TJQ" "$1" <<<"$2") || rc=$?
	if [ "$rc" != 0 ]; then
		fail "no $1 in: $(head -c 3000 <<<"$2")"
	fi
	printf '%s\n' "$v"
}

# RFC 3339 to microseconds since the epoch, and back (UTC, always with a fraction).
ts_us() {
	date -u -d "$1" +%s%6N || hard_error "date cannot read \"$1\""
}

us_ts() {
	local s=$(($1 / 1000000)) f=$(($1 % 1000000))
	printf '%s.%06dZ\n' "$(date -u -d "@$s" +%Y-%m-%dT%H:%M:%S)" "$f"
}

# midpoint A B: the time halfway between two RFC 3339 times.
midpoint() {
	local a b
	a=$(ts_us "$1")
	b=$(ts_us "$2")
	us_ts $(((a + b) / 2))
}

# ---- waiting ----

now_us() {
	echo "${EPOCHREALTIME/./}"
}

# wait_for SECONDS DESCRIPTION CMD...: polls CMD every 10 ms until it succeeds; fails the test
# after SECONDS.
wait_for() {
	local limit=$1 what=$2 deadline
	shift 2
	deadline=$(($(now_us) + limit * 1000000))
	until "$@" >/dev/null 2>&1; do
		if [ "$(now_us)" -gt "$deadline" ]; then
			fail "timed out after $limit s waiting for $what"
		fi
		sleep 0.01
	done
}

# ---- processes ----

lib_record_pid() {
	echo "$1" >>"$T/pids"
}

lib_forget_pid() {
	if [ -f "$T/pids" ]; then
		sed -i "/^$1\$/d" "$T/pids"
	fi
}

lib_alive() {
	kill -0 "$1" 2>/dev/null
}

# ---- simulator ----

lib_sim_ready() {
	local port
	lib_alive "$SIM_PID" || return 2
	[ -s "$T/sim.port" ] || return 1
	port=$(cat "$T/sim.port")
	[[ $port =~ ^[0-9]+$ ]] || return 1
	SIM_URL=http://127.0.0.1:$port
}

# sim_start [SCENARIO] [tssim args...]
sim_start() {
	local scenario=${1:-$SCENARIOS/small.json} deadline rc
	[ $# -eq 0 ] || shift
	[ -r "$scenario" ] || hard_error "no scenario $scenario"
	rm -f "$T/sim.port"
	setsid "$TSSIM" --port 0 --port-file "$T/sim.port" --token "$API_TOKEN" \
		--scenario "$scenario" "$@" </dev/null >>"$T/sim.log" 2>&1 &
	SIM_PID=$!
	lib_record_pid "$SIM_PID"
	deadline=$(($(now_us) + 10000000))
	while :; do
		rc=0
		lib_sim_ready || rc=$?
		[ "$rc" = 0 ] && break
		if [ "$rc" = 2 ]; then
			tail -n 20 "$T/sim.log" >&2
			hard_error "tssim exited at start-up"
		fi
		if [ "$(now_us)" -gt "$deadline" ]; then
			tail -n 20 "$T/sim.log" >&2
			hard_error "tssim wrote no port file within 10 s"
		fi
		sleep 0.01
	done
	note "tssim $SIM_PID at $SIM_URL"
}

# simctl JSON: one control operation; prints the answer, fails unless it is "ok":true.
simctl() {
	local out ok rc=0
	out=$("$TSSIM" ctl "$SIM_URL" "$1" 2>"$T/simctl.err") || rc=$?
	if [ "$rc" != 0 ]; then
		fail "tssim ctl $1 exited $rc: $out $(cat "$T/simctl.err")"
	fi
	ok=$("$TJQ" .ok <<<"$out" 2>/dev/null) || ok=
	[ "$ok" = true ] || fail "tssim ctl $1 answered: $out"
	printf '%s\n' "$out"
}

# sim_devices: the simulator's device list (JSON array).
sim_devices() {
	local out
	out=$(simctl '{"op":"get","tailnet":"-"}')
	jget .devices "$out"
}

# v4_of DEVICE_JSON: the first IPv4 address of a device object.
v4_of() {
	"$TJQ" '.addresses[]' <<<"$1" | awk '/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ && !f { print; f = 1 }'
}

# domain_of NAME: the tailnet's MagicDNS suffix of a device name ("x.tail1234.ts.net" -> "tail1234.ts.net").
domain_of() {
	echo "${1#*.}"
}

# ---- daemon ----

# write_config [lines...]: the daemon's configuration; extra lines go into the tailnet section.
write_config() {
	local line
	printf '%s\n' "$API_TOKEN" >"$T/api-key"
	chmod 600 "$T/api-key"
	mkdir -p "$T/state"
	{
		echo "[daemon]"
		echo "state_dir = $T/state"
		echo "socket = $SOCK"
		echo
		echo "[tailnet test]"
		echo "api_url = $SIM_URL"
		echo "tailnet = -"
		echo "api_key_file = $T/api-key"
		echo "poll_interval = 1h"
		echo "request_timeout = 2s"
		echo "connect_timeout = 2s"
		for line in "$@"; do
			echo "$line"
		done
	} >"$CONF"
}

ctl() {
	"$TSINVCTL" -s "$SOCK" "$@"
}

jctl() {
	"$TSINVCTL" -s "$SOCK" --json "$@"
}

# endpoint_status [FIELD]: a field of the devices endpoint of tailnet "test" in status.
endpoint_status() {
	local out
	out=$(jctl status) || fail "status failed: $out"
	jget ".tailnets[name=test].endpoints[name=devices].${1:-result}" "$out"
}

lib_startup_polled() {
	local r
	r=$(jctl status | "$TJQ" '.tailnets[name=test].endpoints[name=devices].result') || return 1
	[ -n "$r" ] && [ "$r" != never ]
}

lib_daemon_died() {
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	lib_forget_pid "$DAEMON_PID"
	tail -n 30 "$T/tsinvd.log" >&2
	fail "tsinvd exited with status $rc while starting"
}

# daemon_start [tsinvd args...]: starts tsinvd, waits until its socket answers and its start-up
# poll is done.
daemon_start() {
	local deadline rc
	[ -f "$CONF" ] || hard_error "daemon_start before write_config"
	echo "=== tsinvd start $(date -u +%FT%T.%6NZ)" >>"$T/tsinvd.log"
	setsid "$TSINVD" -c "$CONF" "$@" </dev/null >>"$T/tsinvd.log" 2>&1 &
	DAEMON_PID=$!
	lib_record_pid "$DAEMON_PID"
	deadline=$(($(now_us) + 15000000))
	# 3 is "cannot reach the daemon": keep waiting; any other failure is an answer, and wrong.
	while :; do
		rc=0
		ctl status >"$T/status.out" 2>&1 || rc=$?
		[ "$rc" = 3 ] || break
		lib_alive "$DAEMON_PID" || lib_daemon_died
		if [ "$(now_us)" -gt "$deadline" ]; then
			tail -n 30 "$T/tsinvd.log" >&2
			fail "tsinvd did not answer on $SOCK within 15 s"
		fi
		sleep 0.01
	done
	if [ "$rc" != 0 ]; then
		tail -n 30 "$T/tsinvd.log" >&2
		fail "tsinvctl status exited $rc after start-up: $(cat "$T/status.out")"
	fi
	until lib_startup_polled; do
		lib_alive "$DAEMON_PID" || lib_daemon_died
		if [ "$(now_us)" -gt "$deadline" ]; then
			tail -n 30 "$T/tsinvd.log" >&2
			fail "tsinvd's start-up poll did not finish within 15 s"
		fi
		sleep 0.01
	done
	note "tsinvd $DAEMON_PID ready"
}

# daemon_stop: SIGTERM; the daemon must exit with status 0 within 10 s.
daemon_stop() {
	local deadline rc=0
	kill -TERM "$DAEMON_PID"
	deadline=$(($(now_us) + 10000000))
	while lib_alive "$DAEMON_PID"; do
		if [ "$(now_us)" -gt "$deadline" ]; then
			kill -KILL "$DAEMON_PID" 2>/dev/null || :
			fail "tsinvd did not exit within 10 s of SIGTERM"
		fi
		sleep 0.01
	done
	wait "$DAEMON_PID" || rc=$?
	lib_forget_pid "$DAEMON_PID"
	[ "$rc" = 0 ] || fail "tsinvd exited with status $rc after SIGTERM"
	DAEMON_PID=
}

# daemon_kill: SIGKILL, as a crash or a power cut would.
daemon_kill() {
	kill -KILL "$DAEMON_PID"
	# (braces: so that bash's "Killed" job report goes nowhere)
	{ wait "$DAEMON_PID"; } 2>/dev/null || :
	lib_forget_pid "$DAEMON_PID"
	DAEMON_PID=
}

# start: the usual opening: simulator with SCENARIO, config with extra lines, daemon.
start() {
	sim_start "${1:-$SCENARIOS/small.json}"
	shift || :
	write_config "$@"
	daemon_start
}

# poll_now: polls; fails unless every result is ok; prints the poll time of the devices endpoint.
# The whole answer stays in $T/last.poll (poll_changes reads it).
poll_now() {
	local out rc=0 result
	out=$(jctl poll) || rc=$?
	printf '%s\n' "$out" >"$T/last.poll"
	result=$("$TJQ" '.polls[endpoint=devices].result' <<<"$out" 2>/dev/null) || result=
	if [ "$rc" != 0 ] || [ "$result" != ok ]; then
		fail "poll exited $rc with result \"$result\": $out"
	fi
	jget '.polls[endpoint=devices].time' "$out"
}

# all_polled: every endpoint of tailnet "test" has finished its first poll.
all_polled() {
	local r
	r=$(jctl status | "$TJQ" '.tailnets[name=test].endpoints[].result') || return 1
	[ -n "$r" ] && ! grep -qx never <<<"$r"
}

# poll_all [ENDPOINT]: polls; fails unless every endpoint's result is ok; prints the poll time of
# ENDPOINT (default devices). The whole answer stays in $T/last.poll.
poll_all() {
	local out rc=0 results
	out=$(jctl poll) || rc=$?
	printf '%s\n' "$out" >"$T/last.poll"
	results=$("$TJQ" '.polls[].result' <<<"$out" 2>/dev/null | sort -u) || results=
	if [ "$rc" != 0 ] || [ "$results" != ok ]; then
		fail "poll exited $rc with results \"$results\": $out"
	fi
	jget ".polls[endpoint=${1:-devices}].time" "$out"
}

# poll_changes: the number of changes the last poll_now reported.
poll_changes() {
	jget '.polls[endpoint=devices].changes' "$(cat "$T/last.poll")"
}

# ---- events and hooks ----

HOOKSINK=$TOP_BUILDDIR/tests/hooksink
SINK_URL=
SINK_PID=

# last_seq: the newest event's sequence number.
last_seq() {
	local out
	out=$(jctl events --limit 1) || fail "events failed: $out"
	jget .last_seq "$out"
}

# rename_device ID NAME: renames device ID to NAME in the simulator and polls, which records a
# device.renamed event; prints that event's seq.
rename_device() {
	local before after
	before=$(last_seq)
	simctl "{\"op\":\"set\",\"tailnet\":\"-\",\"nodeId\":\"$1\",\"fields\":{\"name\":\"$2\"}}" >/dev/null
	poll_now >/dev/null
	after=$(last_seq)
	[ "$after" = $((before + 1)) ] || fail "renaming $1 recorded events $before..$after, not one"
	echo "$after"
}

# file_lines FILE: how many lines FILE has, 0 when it does not exist.
file_lines() {
	local n=0
	if [ -f "$1" ]; then
		n=$(wc -l <"$1")
	fi
	echo $((n))
}

# lines_at_least N FILE (for wait_for).
lines_at_least() {
	[ "$(file_lines "$2")" -ge "$1" ]
}

# hook_field NAME PATH: a field of hook NAME in "tsinvctl --json hooks" (tjq path, no dot).
hook_field() {
	local out
	out=$(jctl hooks) || fail "hooks failed: $out"
	jget ".hooks[name=$1].$2" "$out"
}

# hook_field_is NAME PATH VALUE (for wait_for).
hook_field_is() {
	[ "$("$TSINVCTL" -s "$SOCK" --json hooks | "$TJQ" ".hooks[name=$1].$2")" = "$3" ]
}

# proc_gone PID: the process has exited (a zombie that nobody reaped yet counts as gone).
proc_gone() {
	local state
	kill -0 "$1" 2>/dev/null || return 0
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$state" = Z ] || [ -z "$state" ]
}

# hooksink_start [hooksink args...]: a stub webhook endpoint; the body of each POST /hook it
# accepts becomes one line of $T/sink.out. Sets SINK_URL.
hooksink_start() {
	local deadline port
	[ -x "$HOOKSINK" ] || hard_error "$HOOKSINK is not built (make check builds it)"
	rm -f "$T/sink.port"
	setsid "$HOOKSINK" --port-file "$T/sink.port" --out "$T/sink.out" "$@" \
		</dev/null >>"$T/sink.log" 2>&1 &
	SINK_PID=$!
	lib_record_pid "$SINK_PID"
	deadline=$(($(now_us) + 10000000))
	until [ -s "$T/sink.port" ]; do
		lib_alive "$SINK_PID" || hard_error "hooksink exited at start-up: $(cat "$T/sink.log")"
		[ "$(now_us)" -lt "$deadline" ] || hard_error "hooksink wrote no port file within 10 s"
		sleep 0.01
	done
	port=$(cat "$T/sink.port")
	SINK_URL=http://127.0.0.1:$port/hook
	note "hooksink $SINK_PID at $SINK_URL"
}
