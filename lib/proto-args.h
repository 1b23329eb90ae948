/* proto-args.h: every member an op's "args" may hold, with its JSON type and tsinvctl's form of
 * it. The order is the order in which "hello" lists an op's arguments.
 * PROTO_ARG(symbol = the member's name, PROTO_T_*, "what a value must be", "tsinvctl form",
 *           "tsinvctl help") -- a form that does not start with "--" is a positional argument. */
PROTO_ARG(query, PROTO_T_STRING, "a node id, name or address is needed", "ID|NAME|IP", NULL)
PROTO_ARG(ip, PROTO_T_STRING, "an address is needed", "ADDR", NULL)
PROTO_ARG(since, PROTO_T_SEQ, "a sequence number or a time is needed", "--since SEQ|TIME",
          "events after sequence number SEQ, or recorded after TIME (default: from the first; "
          "with --follow, from now)")
PROTO_ARG(until, PROTO_T_STRING, "a time", "--until TIME",
          "only events recorded at or before TIME (default: up to the newest)")
PROTO_ARG(type, PROTO_T_STRING, "event type globs, separated by spaces", "--type GLOB",
          "only events whose type matches GLOB (device.*, *.expiring); may be repeated")
PROTO_ARG(tailnet, PROTO_T_STRING, "a tailnet's name", "--tailnet NAME",
          "the tailnet to ask about, when the daemon serves several")
PROTO_ARG(rev, PROTO_T_REV, "a revision number or a sha256 prefix is needed", "REV", NULL)
PROTO_ARG(at, PROTO_T_STRING, "a time", "--at TIME", "as things were at TIME instead of now")
PROTO_ARG(window, PROTO_T_STRING, "a duration", "--window DUR",
          "addresses released this long before TIME are listed as deprecated (default: the "
          "daemon's [netbox] deprecated_window)")
PROTO_ARG(history, PROTO_T_BOOL, "true or false", "--history", "also list every version")
PROTO_ARG(limit, PROTO_T_COUNT, "a number from 1 to " PROTO_STR(PROTO_LIMIT_MAX), "--limit N",
          "at most N events (default 1000, at most " PROTO_STR(PROTO_LIMIT_MAX) ")")
PROTO_ARG(expiring, PROTO_T_STRING, "a duration", "--expiring DUR",
          "only active keys that expire within DUR of the last poll (7d, 36h)")
PROTO_ARG(all, PROTO_T_BOOL, "true or false", "--all",
          "also the hourly access tokens that OAuth clients mint")
PROTO_ARG(netbox_ids, PROTO_T_BOOL, "true or false", "--netbox-ids",
          "read NetBox's ids as a sync does ([netbox] settings) and lead the NetBox CSV with an id "
          "column, so that an import updates and retires rows instead of refusing them")
PROTO_ARG(path, PROTO_T_STRING, "an absolute file name on the daemon's host is needed", "FILE",
          NULL)
PROTO_ARG(dry_run, PROTO_T_BOOL, "true or false", "--dry-run",
          "read NetBox and print the plan; write nothing")
PROTO_ARG(progress, PROTO_T_BOOL, "true or false", "--progress",
          "progress frames {\"id\":ID,\"progress\":{...}} before the answer (tsinvctl asks "
          "for them on a terminal)")
PROTO_ARG(severity, PROTO_T_STRING, "a severity: critical, high, medium, low or info",
          "--severity S",
          "only findings of severity S or higher (critical, high, medium, low, "
          "info)")
PROTO_ARG(check, PROTO_T_STRING, "a check id or a glob of ids", "--id ID|GLOB",
          "only the checks whose id is ID or matches GLOB (TSINV-ACL-*, *SSH*)")
PROTO_ARG(fields, PROTO_T_STRING, "member names separated by commas", "--fields LIST",
          "each device keeps only these members (name,addresses,...): a smaller reply")
PROTO_ARG(actor, PROTO_T_STRING, "an actor's id or login name", "--actor LOGIN|ID",
          "only the entries of the actor with this login name or id")
PROTO_ARG(target, PROTO_T_STRING, "a target's id or name", "--target ID|NAME",
          "only the entries whose target has this id or name (a node id, a device's "
          "name, a key id, a login)")
PROTO_ARG(action, PROTO_T_STRING, "an action as the audit log writes it", "--action A",
          "only the entries of action A (CREATE, UPDATE, DELETE, REVOKE, ...; as logged)")
PROTO_ARG(origin, PROTO_T_STRING, "an origin as the audit log writes it", "--origin O",
          "only the entries of origin O (ADMIN_CONSOLE, CONFIG_API, NODE, ...; as logged)")
