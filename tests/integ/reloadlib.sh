# reloadlib.sh: the reload tests' helpers; sourced after lib.sh.

# log_count REGEX: how many lines of the daemon's log match.
log_count() {
	grep -cE -e "$1" "$T/tsinvd.log" || :
}

# hup: SIGHUP, then waits for the reload to finish (applied or refused); its lines stay in
# $T/reload.log.
hup() {
	local n0 lines0
	n0=$(log_count 'reloaded: |reload refused')
	lines0=$(wc -l <"$T/tsinvd.log")
	kill -HUP "$DAEMON_PID"
	wait_for 10 "the reload to finish" reload_finished "$n0"
	tail -n +$((lines0 + 1)) "$T/tsinvd.log" >"$T/reload.log"
	lib_alive "$DAEMON_PID" || fail "tsinvd died on SIGHUP"
}

reload_finished() {
	[ "$(log_count 'reloaded: |reload refused')" -gt "$1" ]
}
