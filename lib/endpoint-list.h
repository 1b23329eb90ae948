/* endpoint-list.h: the one list of API endpoints tsinv polls, expanded by the endpoint table
 * (lib/endpoint.c) and the enum, and by the config for the names alone. In the order of the
 * config's "endpoints" bit mask and of the status answer. Adding an endpoint is one line here, one
 * row in lib/endpoint.c and its apply function. ENDPOINT(symbol, "name") */
ENDPOINT(devices, "devices")
ENDPOINT(keys, "keys")
ENDPOINT(users, "users")
ENDPOINT(policy, "policy")
ENDPOINT(dns, "dns")
ENDPOINT(settings, "settings")
ENDPOINT(webhooks, "webhooks")
ENDPOINT(audit, "audit")
ENDPOINT(posture, "posture")
