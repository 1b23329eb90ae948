/* proto-ops.h: the one table of socket operations, expanded by the daemon (dispatch), the client
 * (help) and "hello". PROTO_OP(symbol, "name", flags, "args", "one-line help") */
PROTO_OP(hello, "hello", 0, "", "protocol version, daemon version and the operations it knows")
PROTO_OP(status, "status", 0, "", "daemon version, uptime, store size, last poll of each endpoint")
PROTO_OP(poll, "poll", PROTO_F_WRITE, "[tailnet]",
         "poll every endpoint now; answers once committed")
PROTO_OP(devices_list, "devices.list", 0, "[tailnet] [at]",
         "devices on the network now or at a time")
PROTO_OP(device_get, "device.get", 0, "query [tailnet] [at] [history]",
         "one device by node id, name or address; with history, every version")
PROTO_OP(ip_at, "ip.at", 0, "ip [tailnet] [at] [history]",
         "who held an address at a time: held, maybe, none or unknown")
PROTO_OP(events_list, "events.list", 0, "[since] [type] [tailnet] [limit]",
         "recorded change events, oldest first, after a sequence number or a time")
PROTO_OP(events_follow, "events.follow", 0, "[since] [type] [tailnet]",
         "turns the connection into a live stream of events, one JSON object per line")
PROTO_OP(hooks, "hooks", 0, "", "each hook's cursor, lag, last run, last error and attempts")
PROTO_OP(addresses_list, "addresses.list", 0, "[tailnet] [at] [window]",
         "every address held at a time, and those released in a window before it (IPAM export)")
PROTO_OP(ipam_export, "ipam.export", 0, "[tailnet] [at] [window]",
         "addresses held at a time (and released before it) as IPAM rows, with the NetBox mapping")
PROTO_OP(netbox_sync, "netbox.sync", PROTO_F_WRITE, "[dry_run]",
         "sync the addresses into NetBox now (dry_run: only plan); the plan, counts and errors")
PROTO_OP(users_list, "users.list", 0, "[tailnet] [at]",
         "users of the tailnet now or at a time: login, name, role, status, type")
PROTO_OP(keys_list, "keys.list", 0, "[tailnet] [at] [expiring] [all]",
         "auth keys, API tokens, OAuth clients and federated identities, gone ones included "
         "(all: also OAuth access tokens)")
PROTO_OP(webhooks_list, "webhooks.list", 0, "[tailnet] [at]",
         "the tailnet's webhook endpoints now or at a time")
PROTO_OP(dns_get, "dns.get", 0, "[tailnet] [at] [history]",
         "DNS: nameservers, MagicDNS, search paths, split DNS; with history, every version")
PROTO_OP(settings_get, "settings.get", 0, "[tailnet] [at] [history]",
         "tailnet settings now or at a time; with history, every version")
PROTO_OP(policy_log, "policy.log", 0, "[tailnet]",
         "policy file revisions with their time bounds, hashes and ETags")
PROTO_OP(policy_get, "policy.get", 0, "[tailnet] [rev] [at]",
         "one policy file revision's exact text, by number, hash prefix or time")
