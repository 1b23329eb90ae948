#!/bin/sh
# syslog.sh: a tsinvd hook that logs a one-line summary of each event to syslog (the journal),
# as "logger -t tsinv -p user.notice SUMMARY".
#
# Settings, optional, in syslog.conf beside this script (sh syntax, read at each run):
#   LOGGER=logger          the command (with options) that does the logging
#   PRIORITY=user.notice   the facility.level
#   TAG=tsinv
#
# Exit status: logger's; a failure makes tsinvd retry later.
set -eu

conf=${0%.sh}.conf
LOGGER=logger
PRIORITY=user.notice
TAG=tsinv
# shellcheck source=/dev/null
[ -r "$conf" ] && . "$conf"

event=$(cat)

# One line: "tsinv prod: device.renamed web-2.example.ts.net (n123): hostname,name [#42]".
summary() {
	changed=$(printf '%s\n' "$event" | sed -n 's/.*"changed":\[\([^]]*\)\].*/\1/p' | tr -d '"')
	address=$(printf '%s\n' "$event" | sed -n 's/.*"address":"\([^"]*\)".*/\1/p')
	detail=${address:-$changed}
	printf 'tsinv %s: %s %s (%s)%s [#%s]' "${TSINV_TAILNET:-?}" "${TSINV_EVENT_TYPE:-?}" \
		"${TSINV_ENTITY_NAME:-${TSINV_ENTITY_ID:-?}}" "${TSINV_ENTITY_ID:-?}" \
		"${detail:+: $detail}" "${TSINV_EVENT_SEQ:-?}" | tr -d '\000-\037\177'
}

# LOGGER may carry options: split on purpose.
# shellcheck disable=SC2086
exec $LOGGER -t "$TAG" -p "$PRIORITY" -- "$(summary)"
