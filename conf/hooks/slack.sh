#!/bin/sh
# slack.sh: a tsinvd hook that posts a one-line summary of each event to a Slack-compatible
# incoming webhook (Slack, Mattermost, Rocket.Chat, Discord's .../slack endpoint).
#
# Settings, in slack.conf beside this script (sh syntax, read at each run):
#   WEBHOOK_URL=https://hooks.slack.com/services/T000/B000/XXXX
# The URL is a secret: make the file readable by tsinvd's user only. It is handed to curl on
# its standard input, so it never shows in the process list. Needs curl.
#
# Exit status: 0 once the webhook answered 2xx; anything else makes tsinvd retry later.
set -eu

conf=${0%.sh}.conf
WEBHOOK_URL=
# shellcheck source=/dev/null
[ -r "$conf" ] && . "$conf"
if [ -z "$WEBHOOK_URL" ]; then
	echo "slack.sh: no WEBHOOK_URL in $conf" >&2
	exit 2
fi

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

# A JSON string: backslashes and quotes escaped (the summary has no control characters).
text=$(summary | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')

printf 'url = "%s"\n' "$WEBHOOK_URL" |
	curl --config - --fail --silent --show-error --max-time 10 \
		--header 'Content-Type: application/json' \
		--data-binary "{\"text\":\"$text\"}" --output /dev/null
