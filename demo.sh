#!/bin/sh
# The demo: builds everything, runs tsinvd against the simulated tailnet (tssim), makes a few
# changes there and shows what tsinvctl answers. Installs missing Debian build dependencies.
set -eu
top=$(cd "$(dirname "$0")" && pwd)
"$top/scripts/deps"
cd "$top"
[ -x configure ] || ./bootstrap >/dev/null
mkdir -p build
cd build
[ -f Makefile ] || "$top/configure" --enable-werror >/dev/null
echo "== building (make -j2)"
make -j2 >/dev/null
make -j2 tests/sim/tssim tests/tjq >/dev/null
b=$(pwd)

run=$(mktemp -d "${TMPDIR:-/tmp}/tsinv-demo.XXXXXX")
cleanup() {
	[ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	[ -n "${spid:-}" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$run"
}
trap cleanup EXIT INT TERM

"$b/tests/sim/tssim" --port 0 --port-file "$run/sim.port" --token tskey-api-demo \
	--scenario "$top/tests/sim/scenarios/full.json" 2>"$run/sim.log" &
spid=$!
i=0
until [ -s "$run/sim.port" ]; do
	i=$((i + 1)); [ $i -lt 500 ] || { echo "tssim did not start" >&2; exit 1; }
	sleep 0.01
done
url="http://127.0.0.1:$(cat "$run/sim.port")"
printf 'tskey-api-demo\n' >"$run/api-key"
cat >"$run/tsinvd.conf" <<CONF
[daemon]
state_dir = $run/state
socket = $run/tsinvd.sock

[tailnet demo]
api_url = $url
tailnet = -
api_key_file = $run/api-key
poll_interval = 1h
CONF
"$b/daemon/tsinvd" -c "$run/tsinvd.conf" 2>"$run/tsinvd.log" &
dpid=$!
ctl() { "$b/client/tsinvctl" -s "$run/tsinvd.sock" "$@"; }
sim() { "$b/tests/sim/tssim" ctl "$url" "$1" >/dev/null; }
i=0
# Up when every endpoint (devices, keys, users, policy, dns, settings, webhooks) has polled once.
polled() {
	local r
	r=$(ctl --json status 2>/dev/null | "$b/tests/tjq" '.tailnets[0].endpoints[].result' 2>/dev/null) &&
		[ -n "$r" ] && ! printf "%s\n" "$r" | grep -qx never
}
until polled; do
	i=$((i + 1)); [ $i -lt 1000 ] || { echo "tsinvd did not come up:" >&2; cat "$run/tsinvd.log" >&2; exit 1; }
	sleep 0.01
done
say() { printf '\n== %s\n' "$*"; }

say "tsinvctl status"
ctl status
say "tsinvctl devices   (the simulated tailnet as first polled)"
ctl devices
first=$(ctl --json devices | "$b/tests/tjq" '.devices[0].nodeId')
name=$(ctl --json device "$first" | "$b/tests/tjq" '.current.device.hostname')
ip=$(ctl --json device "$first" | "$b/tests/tjq" '.current.device.addresses[0]')
t1=$(ctl --json status | "$b/tests/tjq" '.tailnets[0].endpoints[name=devices].last_ok')
tk=$(ctl --json status | "$b/tests/tjq" '.tailnets[0].endpoints[name=keys].last_ok')
tp=$(ctl --json status | "$b/tests/tjq" '.tailnets[0].endpoints[name=policy].last_ok')

# Two seconds, so that the changes below stand apart from the first poll in the timelines.
sleep 2
say "in the tailnet: $name ($first) is deleted and a new device 'intruder' gets its address $ip"
sim "{\"op\":\"delete\",\"tailnet\":\"-\",\"nodeId\":\"$first\"}"
sim "{\"op\":\"add\",\"tailnet\":\"-\",\"device\":{\"hostname\":\"intruder\",\"name\":\"intruder.tail1234.ts.net\",\"addresses\":[\"$ip\",\"fd7a:115c:a1e0::dead:beef\"]}}"
second=$(ctl --json devices | "$b/tests/tjq" '.devices[1].nodeId')
say "... and another device is renamed and tagged"
sim "{\"op\":\"set\",\"tailnet\":\"-\",\"nodeId\":\"$second\",\"fields\":{\"name\":\"db-renamed.tail1234.ts.net\",\"hostname\":\"db-renamed\",\"tags\":[\"tag:db\"]}}"
say "... carol's API token is revoked, the policy file changes, DNS gets a new nameserver"
sim '{"op":"key_revoke","tailnet":"-","id":"kC3apDy8NfCNTRL"}'
sim '{"op":"acl_set","tailnet":"-","hujson":"// Locked down after the audit.\n{\n\t\"groups\": {\"group:eng\": [\"alice@example.com\"]},\n\t\"acls\": [\n\t\t{\"action\": \"accept\", \"src\": [\"group:eng\"], \"dst\": [\"tag:prod:22\"]},\n\t],\n}\n"}'
sim '{"op":"dns_set","tailnet":"-","nameservers":["1.1.1.1","8.8.8.8"]}'
say "tsinvctl poll"
ctl poll

say "tsinvctl ip $ip   (now)"
ctl ip "$ip"
say "tsinvctl ip $ip --at $t1   (at the first poll)"
ctl ip "$ip" --at "$t1"
say "tsinvctl ip $ip --history"
ctl ip "$ip" --history
say "tsinvctl device $name   (deleted, still found by name)"
ctl device "$name"
say "tsinvctl device db-renamed --history"
ctl device db-renamed --history
say "tsinvctl ip $ip --at 2000-01-01T00:00:00Z   (before tsinv watched: honest)"
ctl ip "$ip" --at 2000-01-01T00:00:00Z
say "tsinvctl users   (who uses the tailnet, shared users included)"
ctl users
say "tsinvctl keys   (who made which key, when it expires; the revoked one stays listed)"
ctl keys
say "tsinvctl keys --at $tk   (before the revocation)"
ctl keys --at "$tk"
say "tsinvctl acl log"
ctl acl log
say "tsinvctl acl diff 1 2"
ctl acl diff 1 2
say "tsinvctl acl groups --at $tp"
ctl acl groups --at "$tp"
say "tsinvctl acl rules --at $tp   (acls, grants and ssh; is the network micro-segmented?)"
ctl acl rules --at "$tp"
say "tsinvctl dns --history"
ctl dns --history
say "tsinvctl events   (every change, as hooks and followers get them)"
ctl events
say "tsinvctl export --format netbox-csv   (for NetBox's IP-address import)"
ctl export --format netbox-csv
printf '\n(demo files were in %s; removed)\n' "$run"
