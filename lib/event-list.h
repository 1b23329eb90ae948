/* event-list.h: the one list of event types, expanded by the types table (help, globs) and by
 * the enum the recorders pass. EVENT_TYPE(symbol, "name", "entity kind", off, "what fires it");
 * OFF: recorded only when a hook or a follower names it (presence). */
EVENT_TYPE(tailnet_baseline, "tailnet.baseline", "tailnet", 0,
           "the first successful poll of a tailnet: one summary, not one event per device")
EVENT_TYPE(device_created, "device.created", "device", 0, "a device joined the tailnet")
EVENT_TYPE(device_deleted, "device.deleted", "device", 0,
           "a device left the tailnet (deleted, or expired and removed)")
EVENT_TYPE(device_renamed, "device.renamed", "device", 0,
           "a device's MagicDNS name or hostname changed")
EVENT_TYPE(device_address_added, "device.address.added", "device", 0,
           "a device gained a Tailscale address")
EVENT_TYPE(device_address_removed, "device.address.removed", "device", 0,
           "a device lost a Tailscale address")
EVENT_TYPE(device_tags_changed, "device.tags.changed", "device", 0, "a device's tags changed")
EVENT_TYPE(device_owner_changed, "device.owner.changed", "device", 0,
           "a device's user (owner) changed")
EVENT_TYPE(device_authorized_changed, "device.authorized.changed", "device", 0,
           "a device was authorised or de-authorised")
EVENT_TYPE(device_key_expiry_changed, "device.key.expiry.changed", "device", 0,
           "a device's node key expiry changed, or key expiry was disabled or enabled")
EVENT_TYPE(device_routes_changed, "device.routes.changed", "device", 0,
           "a device's advertised or enabled subnet routes changed")
EVENT_TYPE(device_updated, "device.updated", "device", 0,
           "any other recorded field of a device changed (OS, client version, node key, ...)")
EVENT_TYPE(device_key_expiring, "device.key.expiring", "device", 0,
           "a device's node key expires within a threshold (14d, 7d, 1d by default); once per "
           "key and threshold")
EVENT_TYPE(device_key_expired, "device.key.expired", "device", 0,
           "a device's node key expiry time has passed; once per key")
EVENT_TYPE(device_online, "device.online", "device", 1,
           "a device connected to the control plane (presence: off by default)")
EVENT_TYPE(device_offline, "device.offline", "device", 1,
           "a device lost its connection to the control plane (presence: off by default)")
EVENT_TYPE(device_multiple_connections, "device.multiple.connections", "device", 0,
           "the API says several machines connect with a device's node key at once (its state "
           "was probably copied), or no longer does; once per transition")
EVENT_TYPE(device_posture_changed, "device.posture.changed", "device", 0,
           "a device's posture attributes (custom:, node:, intune: ...) changed: \"changed\" "
           "names them (endpoint posture, off by default)")
EVENT_TYPE(device_attributed, "device.attributed", "device", 0,
           "a device's change was joined to the audit log (attribution_events = yes): "
           "\"attribution\" names the actor, or the candidates when several entries fit")
EVENT_TYPE(key_created, "key.created", "key", 0,
           "an auth key, API token, OAuth client or federated identity appeared")
EVENT_TYPE(key_revoked, "key.revoked", "key", 0,
           "a key was revoked (seen by fetching it once more after it left the list)")
EVENT_TYPE(key_expired, "key.expired", "key", 0, "a key expired and left the list")
EVENT_TYPE(key_deleted, "key.deleted", "key", 0,
           "a key left the list and the API no longer knows it (no revocation or expiry seen)")
EVENT_TYPE(key_updated, "key.updated", "key", 0,
           "any other recorded field of a key changed (description, scopes, ...)")
EVENT_TYPE(key_expiring, "key.expiring", "key", 0,
           "an active key expires within a threshold (as device.key.expiring); once per key and "
           "threshold")
EVENT_TYPE(user_created, "user.created", "user", 0,
           "a user joined the tailnet (members and shared users)")
EVENT_TYPE(user_deleted, "user.deleted", "user", 0, "a user left the tailnet's users list")
EVENT_TYPE(user_role_changed, "user.role.changed", "user", 0, "a user's role changed")
EVENT_TYPE(user_status_changed, "user.status.changed", "user", 0,
           "a user was suspended, restored, approved or needs approval (not active <-> idle)")
EVENT_TYPE(user_updated, "user.updated", "user", 0,
           "any other recorded field of a user changed (login, display name, ...)")
EVENT_TYPE(policy_changed, "policy.changed", "policy", 0,
           "the policy file (ACL) changed: a new revision")
EVENT_TYPE(dns_changed, "dns.changed", "dns", 0,
           "nameservers, MagicDNS, search paths, split DNS, the override of local DNS or a "
           "resolver's use with exit nodes changed")
EVENT_TYPE(settings_changed, "settings.changed", "settings", 0,
           "a tailnet setting changed (device approval, key duration, ...)")
EVENT_TYPE(webhook_created, "webhook.created", "webhook", 0, "a webhook endpoint was added")
EVENT_TYPE(webhook_deleted, "webhook.deleted", "webhook", 0,
           "a webhook endpoint was removed (alerting may be gone)")
EVENT_TYPE(webhook_updated, "webhook.updated", "webhook", 0,
           "a webhook's URL, subscriptions or provider changed")
EVENT_TYPE(check_baseline, "check.baseline", "check", 0,
           "the first evaluation of a tailnet's compliance checks (or of checks that could not be "
           "evaluated before): one summary with the findings' counts by severity")
EVENT_TYPE(check_failed, "check.failed", "check", 0,
           "a compliance check found something new after a poll changed the history: one event "
           "per check and entity, with the window of the change")
EVENT_TYPE(check_resolved, "check.resolved", "check", 0,
           "a compliance finding ended after a poll changed the history: one event per check "
           "and entity, with the finding's start and the window of its end")
