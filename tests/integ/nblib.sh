# nblib.sh: the NetBox stand-in's helpers for the NetBox tests; sourced after lib.sh.

NBSIM=$TOP_BUILDDIR/tests/netboxsim
[ -x "$NBSIM" ] || hard_error "$NBSIM is not built (make check builds it)"
NB_TOKEN=nbtoken-5ecret-0123456789abcdef
NB_URL=
NB_PID=

# nb_start [netboxsim args...]: the NetBox stand-in; sets NB_URL.
nb_start() {
	local deadline
	rm -f "$T/nb.port"
	setsid "$NBSIM" --port-file "$T/nb.port" --token "$NB_TOKEN" "$@" </dev/null >>"$T/nb.log" 2>&1 &
	NB_PID=$!
	lib_record_pid "$NB_PID"
	deadline=$(($(now_us) + 10000000))
	until [ -s "$T/nb.port" ]; do
		lib_alive "$NB_PID" || hard_error "netboxsim exited at start-up: $(cat "$T/nb.log")"
		[ "$(now_us)" -lt "$deadline" ] || hard_error "netboxsim wrote no port file within 10 s"
		sleep 0.01
	done
	NB_URL=http://127.0.0.1:$(cat "$T/nb.port")
	note "netboxsim $NB_PID at $NB_URL"
}

# nbctl JSON: one control operation of the stand-in; fails unless it answers "ok".
nbctl() {
	local out rc=0
	out=$("$NBSIM" ctl "$NB_URL" "$1" 2>>"$T/nbctl.err") || rc=$?
	[ "$rc" = 0 ] || fail "netboxsim ctl $1 exited $rc: $out"
	printf '%s\n' "$out"
}

nb_state() {
	nbctl '{"op":"state"}'
}

nb_writes() {
	jget .counters.writes "$(nb_state)"
}

# rec ADDRESS PATH: a field of the one record of ADDRESS (with its mask) in the stand-in.
rec() {
	jget ".ip_addresses[address=$1]$2" "$(nb_state)"
}

# nb_count ADDRESS: how many records the stand-in has for ADDRESS.
nb_count() {
	{ tjq ".ip_addresses[address=$1].id" <<<"$(nb_state)" || :; } | wc -l
}

# nb_has ADDRESS N (for wait_for): the stand-in has N records of ADDRESS.
nb_has() {
	[ "$(nb_count "$1")" = "$2" ]
}

# nb_idle (for wait_for): no request held by a delay fault.
nb_idle() {
	[ "$("$TJQ" .counters.pending <<<"$(nb_state)")" = 0 ]
}

# polled TAILNET (for wait_for): the daemon's first poll of TAILNET succeeded.
polled() {
	[ "$(jctl status | "$TJQ" ".tailnets[name=$1].endpoints[name=devices].result")" = ok ]
}

# sync [args]: tsinvctl --json netbox sync; the answer in $T/sync.json, the exit code in SYNC_RC
# (not in a command substitution, which would lose it).
sync() {
	SYNC_RC=0
	jctl netbox sync "$@" >"$T/sync.json" 2>"$T/sync.err" || SYNC_RC=$?
}

# sync_ok [args]: a sync that must succeed; prints its answer.
sync_ok() {
	sync "$@"
	[ "$SYNC_RC" = 0 ] || fail "netbox sync $* exited $SYNC_RC: $(cat "$T/sync.json" "$T/sync.err")"
	cat "$T/sync.json"
}

# netbox_section [lines...]: appends [netbox] for the stand-in to the configuration.
netbox_section() {
	local line
	printf '%s\n' "$NB_TOKEN" >"$T/nb-token"
	chmod 600 "$T/nb-token"
	{
		echo
		echo "[netbox]"
		echo "url = $NB_URL"
		echo "token_file = $T/nb-token"
		for line in "$@"; do
			echo "$line"
		done
	} >>"$CONF"
}

add_device() {
	simctl "{\"op\":\"add\",\"tailnet\":\"-\",\"device\":$1}" >/dev/null
}
