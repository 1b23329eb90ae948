/* proto-ops.h: the one table of socket operations, expanded by the daemon (dispatch and the
 * checking of every request's args), the client (commands, options, usage, completion) and hello.
 * PROTO_OP(symbol, "name", PROTO_F_*, args it takes, args it needs, "one-line help"), the args
 * as PROTO_A() bits of proto-args.h. */
PROTO_OP(hello, "hello", 0, 0, 0, "protocol version, daemon version and the operations it knows")
PROTO_OP(status, "status", 0, 0, 0,
         "daemon version, uptime, store size, last poll of each endpoint")
PROTO_OP(poll, "poll", PROTO_F_WRITE, PROTO_A(tailnet) | PROTO_A(progress), 0,
         "poll every endpoint now; answers once committed")
PROTO_OP(devices_list, "devices.list", 0, PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(fields), 0,
         "devices on the network now or at a time")
PROTO_OP(device_get, "device.get", 0,
         PROTO_A(query) | PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(history), PROTO_A(query),
         "one device by node id, name or address; with history, every version")
PROTO_OP(ip_at, "ip.at", 0, PROTO_A(ip) | PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(history),
         PROTO_A(ip), "who held an address at a time: held, maybe, none or unknown")
PROTO_OP(events_list, "events.list", 0,
         PROTO_A(since) | PROTO_A(until) | PROTO_A(type) | PROTO_A(tailnet) | PROTO_A(limit), 0,
         "recorded change events, oldest first, after a sequence number or a time")
PROTO_OP(events_follow, "events.follow", 0, PROTO_A(since) | PROTO_A(type) | PROTO_A(tailnet), 0,
         "turns the connection into a live stream of events, one JSON object per line")
PROTO_OP(hooks, "hooks", 0, 0, 0, "each hook's cursor, lag, last run, last error and attempts")
PROTO_OP(addresses_list, "addresses.list", 0, PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(window), 0,
         "every address held at a time, and those released in a window before it (IPAM export)")
PROTO_OP(ipam_export, "ipam.export", 0,
         PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(window) | PROTO_A(netbox_ids), 0,
         "addresses held at a time (and released before it) as IPAM rows, with the NetBox mapping")
PROTO_OP(netbox_sync, "netbox.sync", PROTO_F_WRITE, PROTO_A(dry_run) | PROTO_A(progress), 0,
         "sync the addresses into NetBox now (dry_run: only plan); the plan, counts and errors")
PROTO_OP(users_list, "users.list", 0, PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(history), 0,
         "users of the tailnet now or at a time: login, name, role, status, type; with "
         "history, every user's versions")
PROTO_OP(user_get, "user.get", 0,
         PROTO_A(query) | PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(history), PROTO_A(query),
         "one user by id or login, now or at a time: the devices it owned and when, the keys "
         "it created; with history, every version")
PROTO_OP(keys_list, "keys.list", 0,
         PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(expiring) | PROTO_A(all), 0,
         "auth keys, API tokens, OAuth clients and federated identities, gone ones included "
         "(all: also OAuth access tokens)")
PROTO_OP(webhooks_list, "webhooks.list", 0, PROTO_A(tailnet) | PROTO_A(at), 0,
         "the tailnet's webhook endpoints now or at a time")
PROTO_OP(dns_get, "dns.get", 0, PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(history), 0,
         "DNS: nameservers, MagicDNS, search paths, split DNS; with history, every version")
PROTO_OP(settings_get, "settings.get", 0, PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(history), 0,
         "tailnet settings now or at a time; with history, every version")
PROTO_OP(policy_log, "policy.log", 0, PROTO_A(tailnet), 0,
         "policy file revisions with their time bounds, hashes and ETags")
PROTO_OP(policy_get, "policy.get", 0, PROTO_A(tailnet) | PROTO_A(rev) | PROTO_A(at), 0,
         "one policy file revision's exact text, by number, hash prefix or time")
PROTO_OP(audit_list, "audit.list", 0,
         PROTO_A(since) | PROTO_A(until) | PROTO_A(actor) | PROTO_A(target) | PROTO_A(action) |
             PROTO_A(origin) | PROTO_A(tailnet) | PROTO_A(limit),
         0,
         "configuration audit log entries as received, oldest first, logged at or after a "
         "time (since) and up to one (until)")
PROTO_OP(store_info, "store.info", 0, 0, 0,
         "the store: schema, size and map, records and bytes per kind, damaged records met")
PROTO_OP(store_verify, "store.verify", 0, 0, 0,
         "walks every record of the store and checks its checksum; the damaged ones")
PROTO_OP(store_backup, "store.backup", PROTO_F_WRITE, PROTO_A(path), PROTO_A(path),
         "writes a consistent, compacted copy of the store to a new file on the daemon's host")
PROTO_OP(metrics, "metrics", 0, 0, 0,
         "counters and gauges of polls, API errors, entities, events, hooks, store and socket, "
         "as Prometheus text (\"text\")")
PROTO_OP(checks_run, "checks.run", 0,
         PROTO_A(tailnet) | PROTO_A(at) | PROTO_A(severity) | PROTO_A(check) | PROTO_A(history), 0,
         "the compliance checks on the history as of now or a time: findings, and each check's "
         "result (pass, fail, unknown); with history, each finding's intervals")
PROTO_OP(checks_history, "checks.history", 0, PROTO_A(tailnet) | PROTO_A(check), 0,
         "each compliance finding's intervals, from its check.failed and check.resolved events")
