#!/bin/sh
# mail.sh: a tsinvd hook that mails each event: the summary as the subject, the event's JSON as
# the body, through sendmail (any MTA's sendmail-compatible command: Postfix, Exim, msmtp, ...).
#
# Settings, in mail.conf beside this script (sh syntax, read at each run):
#   MAIL_TO=netops@example.com          required; several addresses: comma-separated
#   MAIL_FROM=tsinv@example.com         optional: the From: header
#   SENDMAIL="/usr/sbin/sendmail -t"    the command; it reads the recipients from the headers
#
# Exit status: sendmail's; a failure makes tsinvd retry later.
set -eu

conf=${0%.sh}.conf
MAIL_TO=
MAIL_FROM=
SENDMAIL="/usr/sbin/sendmail -t"
# shellcheck source=/dev/null
[ -r "$conf" ] && . "$conf"
if [ -z "$MAIL_TO" ]; then
	echo "mail.sh: no MAIL_TO in $conf" >&2
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

subject=$(summary)
# Header values must stay on one line: the summary has no control characters, the settings
# are the administrator's.
{
	printf 'To: %s\n' "$MAIL_TO"
	if [ -n "$MAIL_FROM" ]; then
		printf 'From: %s\n' "$MAIL_FROM"
	fi
	printf 'Subject: %s\n' "$subject"
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n'
	printf 'Content-Transfer-Encoding: 8bit\nAuto-Submitted: auto-generated\n\n'
	printf '%s\n\n%s\n' "$subject" "$event"
} | {
	# SENDMAIL carries options: split on purpose.
	# shellcheck disable=SC2086
	$SENDMAIL
}
