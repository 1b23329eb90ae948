/* check-table.h: the one catalogue of compliance checks, expanded by the evaluator, the man page
 * generator and the client's "check --list". Ids are stable forever: a check whose meaning changes
 * gets a new id, a retired one keeps its id unused.
 *
 * CHECK(sym, "id", GROUP, SEVERITY, "title", "rationale", "remediation", "KB page")
 * evaluated by check_<sym>() in checks-<group>.c. A KB page is one seen cited in the reference
 * notes or in Tailsnitch's catalogue; "" where none was. */

/* ---- ACL: the policy file's access rules (acls, grants), tags and tests ---- */
CHECK(acl_no_rules, "TSINV-ACL-001", ACL, CRITICAL, "Policy file has neither acls nor grants",
      "Without any acls or grants section Tailscale applies its default policy, which lets every "
      "device reach every other device.",
      "Write explicit acls or grants rules that give each group only what it needs.",
      "https://tailscale.com/kb/1192/acl-samples")
CHECK(acl_allow_all, "TSINV-ACL-002", ACL, CRITICAL, "A rule lets everyone reach everything",
      "An acls rule from \"*\" to \"*:*\", or a grant from \"*\" to \"*\" on every protocol, "
      "makes the network flat: one compromised device reaches all others.",
      "Replace the rule with rules per group and destination tag, and add tests that deny.",
      "https://tailscale.com/kb/1192/acl-samples")
CHECK(acl_danger_all, "TSINV-ACL-003", ACL, CRITICAL, "autogroup:danger-all is used",
      "autogroup:danger-all matches every user and device, external users, shared nodes and "
      "tagged devices included: no other selector is broader.",
      "Name the groups or tags meant instead, or autogroup:member if internal users are meant.",
      "https://tailscale.com/kb/1337/policy-syntax")
CHECK(acl_broad_tag_owners, "TSINV-ACL-004", ACL, CRITICAL, "A tag can be applied by everyone",
      "A tag owned by \"*\", autogroup:member or autogroup:danger-all lets any user put the tag on "
      "a device and so receive whatever access the policy gives that tag.",
      "Give tags owners that are admin groups or other tags, such as autogroup:admin.",
      "https://tailscale.com/kb/1068/tags")
CHECK(acl_broad_auto_approvers, "TSINV-ACL-005", ACL, MEDIUM,
      "Routes or exit nodes are auto-approved for everyone",
      "An autoApprovers entry naming \"*\", autogroup:member or autogroup:danger-all lets any "
      "user advertise a route or an exit node that takes effect without an administrator.",
      "Auto-approve only for specific tags whose owners are trusted.",
      "https://tailscale.com/kb/1337/policy-syntax")
CHECK(acl_no_tests, "TSINV-ACL-006", ACL, LOW, "Policy file has no tests",
      "Policy tests are checked on every save; without them an edit that opens or closes access by "
      "mistake is accepted silently.",
      "Add a tests section asserting the access that must hold and the access that must not.",
      "https://tailscale.com/kb/1196/security-hardening")
CHECK(acl_tests_no_deny, "TSINV-ACL-007", ACL, INFO, "Policy tests never assert a denial",
      "Tests that only accept catch access lost, never access gained: a rule that opens too much "
      "passes them all.",
      "Add deny assertions for the paths that must stay closed.",
      "https://tailscale.com/kb/1196/security-hardening")
CHECK(acl_member_source, "TSINV-ACL-008", ACL, MEDIUM, "A rule's source is autogroup:member",
      "autogroup:member covers every user of the tailnet, invited outside users included, so the "
      "rule reaches further than a named group would.",
      "Use a group of the people meant instead of autogroup:member.",
      "https://tailscale.com/kb/1337/policy-syntax")
CHECK(acl_named_users, "TSINV-ACL-009", ACL, LOW, "A rule names users one by one",
      "Rules listing individual logins drift as people join and leave; a group keeps one list to "
      "review (the weak point of Steampipe's \"use groups\" control, which only asks whether any "
      "group exists).",
      "Put the users in a group and name the group in the rule.",
      "https://tailscale.com/kb/1337/policy-syntax")
CHECK(acl_legacy_only, "TSINV-ACL-010", ACL, INFO, "Policy uses legacy acls only",
      "Grants express the same access and more (application capabilities, via routes) and are "
      "where new policy features land.",
      "Write new rules as grants and migrate the acls section over time.",
      "https://tailscale.com/kb/1324/grants")
CHECK(acl_any_port_any_device, "TSINV-ACL-011", ACL, MEDIUM,
      "A rule opens every port of every device",
      "A destination of \"*:*\" (or a grant to \"*\" on every protocol) gives the rule's sources "
      "the whole tailnet, servers and personal devices alike.",
      "Narrow the destination to the tags and ports the sources need.",
      "https://tailscale.com/kb/1192/acl-samples")

/* ---- SSH: Tailscale SSH rules ---- */
CHECK(ssh_nonroot_tagged, "TSINV-SSH-001", SSH, CRITICAL,
      "SSH as any non-root user on tagged devices",
      "autogroup:nonroot on a tagged destination lets every source log in as any local user other "
      "than root, service accounts included.",
      "Name the local users allowed on tagged devices instead of autogroup:nonroot.",
      "https://tailscale.com/kb/1193/tailscale-ssh")
CHECK(ssh_root_no_check, "TSINV-SSH-002", SSH, HIGH, "SSH as root without check mode",
      "An accept rule for root needs no fresh login: a stolen session or device gets root on the "
      "destination at once. A check rule without checkPeriod uses the default period and counts "
      "as check mode here (Steampipe's control wrongly fails it); rules reaching only the "
      "user's own devices (autogroup:self) are left out.",
      "Use action \"check\" for rules that allow root.",
      "https://tailscale.com/kb/1193/tailscale-ssh")
CHECK(ssh_broad_no_check, "TSINV-SSH-003", SSH, MEDIUM, "SSH from everyone without check mode",
      "An accept rule whose source is \"*\", autogroup:member or autogroup:danger-all gives every "
      "user a shell with no re-authentication on devices other than their own.",
      "Restrict the source to a group, or use action \"check\".",
      "https://tailscale.com/kb/1193/tailscale-ssh")
CHECK(ssh_recorder_not_enforced, "TSINV-SSH-004", SSH, LOW, "SSH session recording is not enforced",
      "With a recorder but without enforceRecorder, sessions go ahead unrecorded whenever the "
      "recorder cannot be reached.",
      "Set enforceRecorder to true on rules whose sessions must be recorded.",
      "https://tailscale.com/kb/1246/tailscale-ssh-session-recording")
CHECK(ssh_no_tests, "TSINV-SSH-005", SSH, LOW, "SSH rules without sshTests",
      "SSH rules grant shells; without sshTests an edit that widens them is accepted silently.",
      "Add sshTests for the users who must and must not reach each destination.",
      "https://tailscale.com/kb/1193/tailscale-ssh")

/* ---- AUTH: auth keys, API tokens, OAuth clients ---- */
CHECK(auth_reusable, "TSINV-AUTH-001", AUTH, HIGH, "Reusable auth key",
      "A reusable auth key adds any number of devices until it expires; stolen, it lets an "
      "attacker join at will.",
      "Prefer one-off keys; keep reusable ones in a secrets manager and delete those unused.",
      "https://tailscale.com/kb/1085/auth-keys")
CHECK(auth_long_expiry, "TSINV-AUTH-002", AUTH, HIGH, "Auth key valid for longer than key_max_age",
      "The longer a key is valid, the longer a leaked copy works.",
      "Create auth keys with an expiry of at most key_max_age (default 90 days).",
      "https://tailscale.com/kb/1085/auth-keys")
CHECK(auth_preauthorized, "TSINV-AUTH-003", AUTH, HIGH, "Pre-authorized auth key",
      "Devices joining with a pre-authorized key skip device approval.",
      "Keep pre-authorized keys to automation that needs them, and alert on new devices.",
      "https://tailscale.com/kb/1085/auth-keys")
CHECK(auth_reusable_not_ephemeral, "TSINV-AUTH-004", AUTH, MEDIUM,
      "Reusable auth key that is not ephemeral",
      "Reusable keys usually serve CI and autoscaling; without ephemeral the nodes they add stay "
      "in the tailnet after the job is gone.",
      "Make keys for short-lived workloads ephemeral.",
      "https://tailscale.com/kb/1111/ephemeral-nodes")
CHECK(auth_api_long_expiry, "TSINV-AUTH-005", AUTH, MEDIUM,
      "API access token valid for longer than key_max_age",
      "An API token acts with its creator's rights on the whole tailnet; a long-lived one is a "
      "standing credential.",
      "Use tokens that expire within key_max_age, or OAuth clients with narrow scopes.",
      "https://tailscale.com/kb/1101/api")
CHECK(auth_orphan_creator, "TSINV-AUTH-006", AUTH, MEDIUM,
      "Active key whose creator is gone or suspended",
      "Keys and OAuth clients keep working after the user who made them leaves: access outlives "
      "the person who was accountable for it.",
      "Revoke the key, or replace it with one owned by a current administrator.",
      "https://tailscale.com/kb/1215/oauth-clients")

/* ---- DEV: devices and device settings ---- */
CHECK(dev_tagged_no_expiry, "TSINV-DEV-001", DEV, MEDIUM, "Tagged device with key expiry disabled",
      "Tagged devices have key expiry disabled by default; a stolen node key then works forever.",
      "Enable key expiry on tagged devices that are not unattended infrastructure.",
      "https://tailscale.com/kb/1068/tags")
CHECK(dev_user_no_expiry, "TSINV-DEV-002", DEV, HIGH, "User-owned device with key expiry disabled",
      "A person's device that never re-authenticates keeps access after its owner's account is "
      "suspended in the identity provider (Steampipe flags every device with expiry disabled, "
      "tagged servers included; this check keeps to user-owned ones).",
      "Enable key expiry, or tag the device if it is a server.",
      "https://tailscale.com/kb/1196/security-hardening")
CHECK(dev_tagged_personal, "TSINV-DEV-003", DEV, HIGH, "Personal device is tagged",
      "Tags are for servers; a tagged laptop or phone no longer belongs to its user and stays "
      "when the user is removed.",
      "Remove the tags from personal devices.", "https://tailscale.com/kb/1068/tags")
CHECK(dev_stale, "TSINV-DEV-004", DEV, MEDIUM, "Device not seen for longer than stale_after",
      "Devices nobody uses keep their access and their keys.",
      "Remove devices that are no longer used.", "https://tailscale.com/kb/1184/deprovisioning")
CHECK(dev_unauthorized, "TSINV-DEV-005", DEV, MEDIUM, "Device waiting for approval",
      "An unapproved device cannot connect, but it may be an attempt to join with a stolen login.",
      "Approve devices you know; remove and investigate the others.",
      "https://tailscale.com/kb/1099/device-authorization")
CHECK(dev_external, "TSINV-DEV-006", DEV, INFO, "Device shared in from another tailnet",
      "External devices are managed by someone else's policy and key settings.",
      "Check that each shared-in device is still meant to have access.",
      "https://tailscale.com/kb/1084/sharing")
CHECK(dev_sensitive_name, "TSINV-DEV-007", DEV, MEDIUM, "Device name reveals sensitive information",
      "With HTTPS enabled, machine names are published in Certificate Transparency logs; names "
      "such as prod-db, vault or an address tell an attacker where to look.",
      "Rename the device to a neutral name.", "https://tailscale.com/kb/1153/enabling-https")
CHECK(dev_update_available, "TSINV-DEV-008", DEV, LOW, "Tailscale client has an update available",
      "Client updates carry security fixes.",
      "Update the client, or turn on auto-updates for the tailnet.",
      "https://tailscale.com/kb/1212/shared-responsibility")
CHECK(dev_client_behind, "TSINV-DEV-009", DEV, MEDIUM,
      "Tailscale client minor_versions_behind the newest in the tailnet",
      "A client far behind the newest version running in the same tailnet has missed releases "
      "that others already run.",
      "Update the client, or turn on auto-updates for the tailnet.",
      "https://tailscale.com/kb/1212/shared-responsibility")
CHECK(dev_lock_error, "TSINV-DEV-010", DEV, HIGH, "Tailnet Lock reports an error for a device",
      "A device whose node key signature Tailnet Lock cannot verify is either unsigned or "
      "signed by a key that is no longer trusted.",
      "Sign the device from a trusted node if it is legitimate; remove it otherwise.",
      "https://tailscale.com/kb/1226/tailnet-lock")
CHECK(dev_approval_off, "TSINV-DEV-011", DEV, HIGH, "Device approval is off",
      "Without device approval any user (or stolen login) adds devices that connect at once. "
      "This reads the tailnet setting, not each device's authorized flag.",
      "Turn on device approval in the device management settings.",
      "https://tailscale.com/kb/1099/device-authorization")
CHECK(dev_auto_updates_off, "TSINV-DEV-012", DEV, LOW, "Client auto-updates are off",
      "Without auto-updates every client stays on the version its owner installed.",
      "Turn on auto-updates in the device management settings.",
      "https://tailscale.com/kb/1212/shared-responsibility")
CHECK(dev_long_key_duration, "TSINV-DEV-013", DEV, LOW,
      "Node key duration longer than node_key_max_age",
      "The node key duration is how often devices must re-authenticate; the longer it is, the "
      "longer a lost or stolen device stays connected.",
      "Set the key duration to at most node_key_max_age (default 180 days).",
      "https://tailscale.com/kb/1196/security-hardening")

/* ---- NET: exposure and routing ---- */
CHECK(net_funnel, "TSINV-NET-001", NET, HIGH, "Funnel is allowed",
      "Funnel publishes local services to the public internet, without Tailscale authentication.",
      "Grant the funnel attribute only to the tags that must serve publicly.",
      "https://tailscale.com/kb/1223/funnel")
CHECK(net_exit_node, "TSINV-NET-002", NET, MEDIUM, "Device offers itself as an exit node",
      "An exit node sees the internet traffic of every device using it.",
      "Keep exit nodes to trusted, tagged infrastructure.",
      "https://tailscale.com/kb/1103/exit-nodes")
CHECK(net_subnet_routes, "TSINV-NET-003", NET, MEDIUM, "Device routes a subnet into the tailnet",
      "A subnet router is a trust boundary: past it, traffic is unencrypted on the local network "
      "and reaches hosts that run no Tailscale policy of their own.",
      "Keep approved routes to the minimum, and restrict them with rules.",
      "https://tailscale.com/kb/1019/subnets")
CHECK(net_routes_pending, "TSINV-NET-004", NET, LOW, "Advertised routes are waiting for approval",
      "A device advertising routes nobody approved is either misconfigured or trying to attract "
      "traffic.",
      "Approve the routes that are meant, and stop the device advertising the others.",
      "https://tailscale.com/kb/1019/subnets")
CHECK(net_shields_down_server, "TSINV-NET-005", NET, INFO,
      "Tagged server accepts incoming connections",
      "A server without shields up is reachable by whatever the policy allows; listed so the "
      "exposed servers are known (Steampipe dropped its per-device version of this control).",
      "Turn on shields up on servers that only make outgoing connections.",
      "https://tailscale.com/kb/1196/security-hardening")
CHECK(net_https_names, "TSINV-NET-006", NET, INFO, "HTTPS certificates publish machine names",
      "With HTTPS on, every certificate puts a machine name in public Certificate Transparency "
      "logs.",
      "Review machine names before requesting certificates.",
      "https://tailscale.com/kb/1153/enabling-https")
CHECK(net_internet_access, "TSINV-NET-007", NET, LOW, "A rule allows exit node use",
      "A rule to autogroup:internet lets its sources send all their internet traffic through exit "
      "nodes, and it cannot be narrowed to one exit node.",
      "Check that the rule's sources are meant to use exit nodes.",
      "https://tailscale.com/kb/1103/exit-nodes")

/* ---- USER: users and roles ---- */
CHECK(user_suspended_devices, "TSINV-USER-001", USER, MEDIUM, "Suspended user still has devices",
      "A suspended user's devices stay in the tailnet and come back when the user is restored.",
      "Remove the devices, or transfer those that must stay to tags.",
      "https://tailscale.com/kb/1184/deprovisioning")
CHECK(user_many_admins, "TSINV-USER-002", USER, MEDIUM,
      "More than max_admins users hold the admin role",
      "Every admin can change the policy, keys and settings; each one is an account worth "
      "stealing.",
      "Give narrower roles (network admin, IT admin, auditor) where full admin is not needed.",
      "https://tailscale.com/kb/1352/roles")
CHECK(user_no_delegated_roles, "TSINV-USER-003", USER, LOW,
      "No narrower administrative roles are used",
      "With only owners and admins, everyone who manages anything can change everything. This "
      "reads users' roles (Steampipe's control looks for SSH group names instead).",
      "Assign network admin, IT admin or auditor roles to those who need only that.",
      "https://tailscale.com/kb/1352/roles")
CHECK(user_shared, "TSINV-USER-004", USER, INFO, "User from outside the tailnet has access",
      "Shared users come from other tailnets and are governed by their own identity provider.",
      "Check that each shared user is still meant to have access.",
      "https://tailscale.com/kb/1084/sharing")
CHECK(user_pending, "TSINV-USER-005", USER, INFO, "User waiting for approval",
      "A pending user may be a mistake or an attempt to join.",
      "Approve the users you expect; remove the others.",
      "https://tailscale.com/kb/1184/deprovisioning")

/* ---- DNS ---- */
CHECK(dns_magicdns_off, "TSINV-DNS-001", DNS, LOW, "MagicDNS is off",
      "Without MagicDNS devices are reached by address, and addresses get reused.",
      "Turn on MagicDNS.", "https://tailscale.com/kb/1081/magicdns")
CHECK(dns_no_nameservers, "TSINV-DNS-002", DNS, INFO, "No global nameservers",
      "Devices keep the resolvers of whatever network they are on.",
      "Set global nameservers if devices must resolve through known resolvers.", "")
CHECK(dns_split_public, "TSINV-DNS-003", DNS, MEDIUM,
      "Split DNS sends a domain to a public resolver",
      "Split DNS is for internal domains; sending one to a public resolver leaks internal names "
      "and trusts answers from outside.",
      "Point split DNS domains at resolvers inside the tailnet or the private network.", "")

/* ---- LOG: alerting and logging ---- */
CHECK(log_no_webhooks, "TSINV-LOG-001", LOG, MEDIUM, "No webhooks",
      "Without webhooks nobody is told when devices join, users change role or the policy "
      "changes.",
      "Add a webhook for the security-relevant events.", "https://tailscale.com/kb/1213/webhooks")
CHECK(log_webhook_events_missing, "TSINV-LOG-002", LOG, LOW,
      "Webhooks miss security-relevant events",
      "Webhooks exist, but none subscribes to some of nodeCreated, nodeDeleted, nodeApproved, "
      "policyUpdate, userCreated, userDeleted and userRoleUpdated.",
      "Subscribe a webhook to the missing events.", "https://tailscale.com/kb/1213/webhooks")
CHECK(log_flow_logs_off, "TSINV-LOG-003", LOG, LOW, "Network flow logging is off",
      "Without flow logs there is no record of which device talked to which.",
      "Turn on network flow logs (and stream them for retention beyond 30 days).",
      "https://tailscale.com/kb/1219/network-flow-logs")

/* ---- HIST: what only the history shows ---- */
CHECK(hist_key_lived_long, "TSINV-HIST-001", HIST, MEDIUM, "A key lived longer than key_max_age",
      "A key in use for longer than key_max_age was a standing credential, even if it has since "
      "been revoked or expired.",
      "Rotate keys within key_max_age.", "https://tailscale.com/kb/1085/auth-keys")
CHECK(hist_expiry_disabled_later, "TSINV-HIST-002", HIST, HIGH,
      "Key expiry was disabled after the device joined",
      "Turning key expiry off on a device that had it is a deliberate change worth a reason.",
      "Enable key expiry again, or record why it must stay off.",
      "https://tailscale.com/kb/1196/security-hardening")
CHECK(hist_tests_removed, "TSINV-HIST-003", HIST, MEDIUM, "A policy revision removed all tests",
      "Removing every test removes the guard on every later edit.", "Restore the tests.",
      "https://tailscale.com/kb/1338/acl-edit")
CHECK(hist_allow_all, "TSINV-HIST-004", HIST, CRITICAL,
      "The policy let everyone reach everything during the window",
      "A revision in force at some time in the window had a rule from \"*\" to \"*:*\" (or the "
      "grant equivalent): for that time the network was flat.",
      "Review the audit log and flow logs of that period.",
      "https://tailscale.com/kb/1203/audit-logging")
CHECK(hist_role_raised, "TSINV-HIST-005", HIST, HIGH,
      "A user's role rose to admin during the window",
      "A new administrator is the change an attacker who holds an admin account makes first.",
      "Confirm the change with whoever approved it.", "https://tailscale.com/kb/1352/roles")
CHECK(hist_address_reuse, "TSINV-HIST-006", HIST, HIGH,
      "A device took a deleted device's address within reuse_window",
      "Rules, firewalls and logs outside Tailscale that name the old address now mean another "
      "device.",
      "Check what still names the address, and update it.", "")
