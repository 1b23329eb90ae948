/* check_config.c: unit tests for the configuration: values, defaults, every error with file:line.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "endpoint.h"
#include "tstime.h"

#define SEC TSTIME_SEC

static char tmpdir[] = "/tmp/check_config.XXXXXX";

/* Writes TEXT (LEN bytes) to a new file in tmpdir; returns its path (malloc'd). */
static char *
write_file(const char *text, size_t len)
{
	static int n;
	char *path;
	FILE *f;

	ck_assert_int_ne(asprintf(&path, "%s/t%d-%d.conf", tmpdir, (int)getpid(), n++), -1);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* TMPL with each "%F" replaced by PATH (malloc'd). */
static char *
expand(const char *tmpl, const char *path)
{
	size_t n = strlen(tmpl) + 1, plen = strlen(path);
	const char *p;
	char *out, *o;

	for (p = tmpl; (p = strstr(p, "%F")) != NULL; p += 2)
		n += plen;
	o = out = malloc(n);
	for (p = tmpl; *p != '\0';) {
		if (p[0] == '%' && p[1] == 'F') {
			memcpy(o, path, plen);
			o += plen;
			p += 2;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

/* Loads TEXT, expects it to fail with exactly WANT (with %F for the file name). */
static void
load_fails(const char *text, const char *want)
{
	char *path = write_file(text, strlen(text)), *errors = (char *)"unset", *exp;
	struct config *cf;

	cf = config_load(path, &errors);
	exp = expand(want, path);
	ck_assert_msg(cf == NULL, "accepted:\n%s", text);
	ck_assert_ptr_nonnull(errors);
	ck_assert_msg(strcmp(errors, exp) == 0, "config:\n%s\ngot:\n%s\nwant:\n%s", text, errors,
	              exp);
	free(exp);
	free(errors);
	free(path);
}

static struct config *
load_ok(const char *text)
{
	char *path = write_file(text, strlen(text)), *errors = NULL;
	struct config *cf;

	cf = config_load(path, &errors);
	ck_assert_msg(cf != NULL, "config:\n%s\nerrors:\n%s", text, errors);
	ck_assert_ptr_null(errors);
	free(path);
	return cf;
}

#define AUTH "api_key_file = /k\n"
#define NEEDS "needs api_key_file or oauth_client_id with oauth_client_secret_file"

static const struct {
	const char *text;
	const char *errors;
} bad[] = {
    {"[daemon]\nfoo = 1\n[tailnet a]\n" AUTH, "%F:2: unknown key \"foo\" in [daemon]"},
    {"[tailnet a]\n" AUTH "foo = 1\n", "%F:3: unknown key \"foo\" in [tailnet a]"},
    {"[tailnet a]\n" AUTH "Poll_Interval = 1m\n",
     "%F:3: unknown key \"Poll_Interval\" in [tailnet a] (did you mean poll_interval?)"},
    /* The nearest key of the section, one that the key starts, or the section it belongs in. */
    {"[daemon]\nlog_levl = debug\n[tailnet a]\n" AUTH,
     "%F:2: unknown key \"log_levl\" in [daemon] (did you mean log_level?)"},
    {"[daemon]\nloglevel = debug\n[tailnet a]\n" AUTH,
     "%F:2: unknown key \"loglevel\" in [daemon] (did you mean log_level?)"},
    {"[tailnet a]\napi_key = /k\n",
     "%F:1: [tailnet a] " NEEDS "\n"
     "%F:2: unknown key \"api_key\" in [tailnet a] (did you mean api_key_file?)"},
    {"[daemon]\npoll_interval = 1m\n[tailnet a]\n" AUTH,
     "%F:2: unknown key \"poll_interval\" in [daemon]: it belongs in [tailnet NAME]"},
    {"[tailnet a]\n" AUTH "exec = /bin/true\n",
     "%F:3: unknown key \"exec\" in [tailnet a]: it belongs in [hook NAME]"},
    {"[daemon]\nsocket_grou = tsinv\nstrict_permission = yes\n[tailnet a]\n" AUTH,
     "%F:2: unknown key \"socket_grou\" in [daemon] (did you mean socket_group?)\n"
     "%F:3: unknown key \"strict_permission\" in [daemon] (did you mean "
     "strict_permissions?)"},
    /* Too far from any key for a guess. */
    {"[daemon]\nlevel = debug\n[tailnet a]\n" AUTH, "%F:2: unknown key \"level\" in [daemon]"},
    {"[daemon]\nstrict_permissions = maybe\n[tailnet a]\n" AUTH,
     "%F:2: strict_permissions: \"maybe\" is not yes or no"},
    {"[daemon]\n= 1\n[tailnet a]\n" AUTH, "%F:2: unknown key \"\" in [daemon]"},
    {"[tailnet a]\n" AUTH "poll_interval = 5x\n",
     "%F:3: poll_interval: \"5x\" is not a duration (e.g. 60s, 5m, 1h)"},
    {"[tailnet a]\n" AUTH "poll_interval = 500ms\n",
     "%F:3: poll_interval: \"500ms\" is below the minimum of 1s"},
    {"[tailnet a]\n" AUTH "poll_interval = 0\n",
     "%F:3: poll_interval: \"0\" is below the minimum of 1s"},
    {"[tailnet a]\n" AUTH "poll_interval = 53w\n",
     "%F:3: poll_interval: \"53w\" is above the maximum of 365d"},
    {"[tailnet a]\n" AUTH "poll_interval = -5m\n",
     "%F:3: poll_interval: \"-5m\" is not a duration (e.g. 60s, 5m, 1h)"},
    {"[tailnet a]\n" AUTH "request_timeout = 99999999999999999999s\n",
     "%F:3: request_timeout: \"99999999999999999999s\" is too long a duration"},
    {"[tailnet a]\n" AUTH "connect_timeout = 0s\n",
     "%F:3: connect_timeout: \"0s\" is below the minimum of 1ms"},
    {"[daemon]\nclient_timeout = 50ms\n[tailnet a]\n" AUTH,
     "%F:2: client_timeout: \"50ms\" is below the minimum of 100ms"},
    /* A comment after a value needs a space before it: here the ';' is part of the value. */
    {"[tailnet a]\n" AUTH "poll_interval = 5m;five minutes\n",
     "%F:3: poll_interval: \"5m;five minutes\" is not a duration (e.g. 60s, 5m, 1h)"},
    {"[tailnet a] x ; comment\n" AUTH, "%F:1: bad section header: expected [daemon], [tailnet "
                                       "NAME], [hook NAME], [netbox] or [checks]\n"
                                       "%F: no [tailnet NAME] section"},
    {"[tailnet prod]\n" AUTH "[tailnet prod]\n" AUTH,
     "%F:3: duplicate section [tailnet prod] (first on line 1)"},
    {"[daemon]\n[daemon]\n[tailnet a]\n" AUTH,
     "%F:2: duplicate section [daemon] (first on line 1)"},
    {"[tailnet x]\n", "%F:1: [tailnet x] " NEEDS},
    {"[tailnet x]\noauth_client_id = abc\n", "%F:1: [tailnet x] " NEEDS},
    {"[tailnet x]\noauth_client_secret_file = s\n", "%F:1: [tailnet x] " NEEDS},
    {"[tailnet x]\n" AUTH "oauth_client_id = c\noauth_client_secret_file = s\n",
     "%F:1: [tailnet x] has both api_key_file and oauth_client_*: use one"},
    {"[tailnet x]\n" AUTH "oauth_client_secret_file = s\n",
     "%F:1: [tailnet x] has both api_key_file and oauth_client_*: use one"},
    {"[tailnet a]\napi_url = http://api.example.com\n" AUTH,
     "%F:2: api_url must be https:// (plain http only for a loopback host)"},
    {"[tailnet a]\napi_url = https://user:pw@api.example.com\n" AUTH,
     "%F:2: api_url must be https:// (plain http only for a loopback host)"},
    {"[tailnet a]\napi_url = ftp://x\n" AUTH,
     "%F:2: api_url must be https:// (plain http only for a loopback host)"},
    {"", "%F: no [tailnet NAME] section"},
    {"# only a comment\n[daemon]\n", "%F: no [tailnet NAME] section"},
    {"[hooks]\nx = 1\n[tailnet a]\n" AUTH, "%F:1: unknown section [hooks]"},
    {"[Daemon]\n[tailnet a]\n" AUTH, "%F:1: unknown section [Daemon]"},
    {"[daemon x]\n[tailnet a]\n" AUTH, "%F:1: unknown section [daemon x]"},
    {"[tailnet]\n[tailnet a]\n" AUTH, "%F:1: [tailnet] needs a name: [tailnet NAME]"},
    {"[tailnet a b]\n[tailnet a]\n" AUTH,
     "%F:1: bad tailnet name \"a b\": use 1 to 64 characters of A-Z a-z 0-9 . _ -"},
    {"[tailnet a/b]\n[tailnet a]\n" AUTH,
     "%F:1: bad tailnet name \"a/b\": use 1 to 64 characters of A-Z a-z 0-9 . _ -"},
    {"[tailnet "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n[tailnet a]\n" AUTH,
     "%F:1: bad tailnet name "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": use 1 to 64 "
     "characters of A-Z a-z 0-9 . _ -"},
    {"[daemon\n[tailnet a]\n" AUTH, "%F:1: bad section header: expected [daemon], [tailnet NAME], "
                                    "[hook NAME], [netbox] or [checks]"},
    {"[daemon] x\n[tailnet a]\n" AUTH, "%F:1: bad section header: expected [daemon], [tailnet "
                                       "NAME], [hook NAME], [netbox] or [checks]"},
    {"[da]emon]\n[tailnet a]\n" AUTH, "%F:1: bad section header: expected [daemon], [tailnet "
                                      "NAME], [hook NAME], [netbox] or [checks]"},
    {"[]\n[tailnet a]\n" AUTH, "%F:1: unknown section []"},
    {"[tailnet a]\n" AUTH "poll_interval = 1m\npoll_interval = 2m\n",
     "%F:4: duplicate key \"poll_interval\" in [tailnet a] (first on line 3)"},
    /* A bad value still counts as set. */
    {"[tailnet a]\n" AUTH "poll_interval = x\npoll_interval = 2m\n",
     "%F:3: poll_interval: \"x\" is not a duration (e.g. 60s, 5m, 1h)\n"
     "%F:4: duplicate key \"poll_interval\" in [tailnet a] (first on line 3)"},
    {"[daemon]\njust words\n[tailnet a]\n" AUTH, "%F:2: expected \"key = value\""},
    {"[daemon]\n[tailnet a]\n" AUTH "tskey-api-secret", "%F:4: expected \"key = value\""},
    {"state_dir = /x\n[tailnet a]\n" AUTH, "%F:1: \"state_dir\" is outside any section"},
    {"[daemon]\nsocket_mode = 0999\n[tailnet a]\n" AUTH,
     "%F:2: socket_mode: \"0999\" is not an octal mode (e.g. 0660)"},
    {"[daemon]\nsocket_mode = 1777\n[tailnet a]\n" AUTH,
     "%F:2: socket_mode: \"1777\" is not an octal mode (e.g. 0660)"},
    {"[daemon]\nsocket_mode = 00660\n[tailnet a]\n" AUTH,
     "%F:2: socket_mode: \"00660\" is not an octal mode (e.g. 0660)"},
    {"[daemon]\nsocket_mode = rw-rw----\n[tailnet a]\n" AUTH,
     "%F:2: socket_mode: \"rw-rw----\" is not an octal mode (e.g. 0660)"},
    {"[daemon]\nmap_size_max = 12q\n[tailnet a]\n" AUTH,
     "%F:2: map_size_max: \"12q\" is not a size (e.g. 512k, 64M, 4G)"},
    {"[daemon]\nmap_size_max = 512k\n[tailnet a]\n" AUTH,
     "%F:2: map_size_max: \"512k\" is below the minimum of 1M"},
    {"[daemon]\nmap_size_max = 99999999999999T\n[tailnet a]\n" AUTH,
     "%F:2: map_size_max: \"99999999999999T\" is not a size (e.g. 512k, 64M, 4G)"},
    {"[tailnet a]\n" AUTH "max_response = 1000\n",
     "%F:3: max_response: \"1000\" is below the minimum of 1k"},
    {"[daemon]\nmax_clients = 0\n[tailnet a]\n" AUTH,
     "%F:2: max_clients: \"0\" is not a number from 1 to 65536"},
    {"[daemon]\nmax_clients = many\n[tailnet a]\n" AUTH,
     "%F:2: max_clients: \"many\" is not a number from 1 to 65536"},
    {"[daemon]\nmax_clients_per_uid = -1\n[tailnet a]\n" AUTH,
     "%F:2: max_clients_per_uid: \"-1\" is not a number from 1 to 65536"},
    {"[daemon]\nmax_clients = 99999999999999999999999\n[tailnet a]\n" AUTH,
     "%F:2: max_clients: \"99999999999999999999999\" is not a number from 1 to 65536"},
    {"[tailnet a]\n" AUTH "mass_delete_percent = 0\n",
     "%F:3: mass_delete_percent: \"0\" is not a number from 1 to 100"},
    {"[tailnet a]\n" AUTH "mass_delete_percent = 101\n",
     "%F:3: mass_delete_percent: \"101\" is not a number from 1 to 100"},
    {"[tailnet a]\n" AUTH "mass_delete_percent = 50%\n",
     "%F:3: mass_delete_percent: \"50%\" is not a number from 1 to 100"},
    {"[daemon]\nlog_level = loud\n[tailnet a]\n" AUTH,
     "%F:2: log_level: \"loud\" is not info or debug"},
    {"[daemon]\nstate_dir = var/lib/tsinv\n[tailnet a]\n" AUTH,
     "%F:2: state_dir: \"var/lib/tsinv\" is not an absolute path"},
    {"[daemon]\nsocket = "
     "/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaa.sock\n[tailnet a]\n" AUTH,
     "%F:2: socket: a socket path must be shorter than 108 bytes"},
    {"[daemon]\nsocket_group = a b\n[tailnet a]\n" AUTH,
     "%F:2: socket_group: \"a b\" must be printable ASCII without spaces"},
    {"[tailnet a]\noauth_client_id = k 1\noauth_client_secret_file = s\n",
     "%F:2: oauth_client_id: \"k 1\" must be printable ASCII without spaces"},
    {"[tailnet a]\n" AUTH "tailnet = a/b\n",
     "%F:3: tailnet: \"a/b\" is not a tailnet name (e.g. - or example.com)"},
    {"[daemon]\nstate_dir =\n[tailnet a]\n" AUTH, "%F:2: state_dir: empty value"},
    {"[tailnet a]\n" AUTH "api_url = \n", "%F:3: api_url: empty value"},
    /* The key line is dropped, so the section also lacks its credential. */
    {"[tailnet a]\napi_key_file = /k\x01\n",
     "%F:1: [tailnet a] " NEEDS "\n%F:2: control character in line"},
    {"[tailnet a]\n" AUTH "\x1b[31m\n", "%F:3: control character in line"},
    /* Several at once, in file order, whole-file ones last. */
    {"[daemon]\nfoo = 1\nlog_level = x\n[tailnet a]\npoll_interval = 1\n[oops]\n",
     "%F:2: unknown key \"foo\" in [daemon]\n"
     "%F:3: log_level: \"x\" is not info or debug\n"
     "%F:4: [tailnet a] " NEEDS "\n"
     "%F:6: unknown section [oops]"},
    {"[daemon]\nfoo = 1\n", "%F:2: unknown key \"foo\" in [daemon]\n%F: no [tailnet NAME] section"},
    /* [hook NAME] */
    {"[tailnet a]\n" AUTH "[hook]\nexec = /x\n", "%F:3: [hook] needs a name: [hook NAME]"},
    {"[tailnet a]\n" AUTH "[hook a b]\nexec = /x\n",
     "%F:3: bad hook name \"a b\": use 1 to 64 characters of A-Z a-z 0-9 . _ -"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\n[hook h]\nexec = /y\n",
     "%F:5: duplicate section [hook h] (first on line 3)"},
    /* A hook may share a tailnet's name: they are different things. */
    {"[tailnet a]\n" AUTH "[hook a]\nexec = /x\nfoo = 1\n",
     "%F:5: unknown key \"foo\" in [hook a]"},
    {"[tailnet a]\n" AUTH "[hook h]\nevents = device.*\n",
     "%F:3: [hook h] needs exec = /path/to/program"},
    {"[hook h]\n[tailnet a]\n" AUTH, "%F:1: [hook h] needs exec = /path/to/program"},
    /* A bad exec is reported once, not also as missing. */
    {"[tailnet a]\n" AUTH "[hook h]\nexec = hooks/slack.sh\n",
     "%F:4: exec: \"hooks/slack.sh\" is not an absolute path"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec =\n", "%F:4: exec: empty value"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nexec = /y\n",
     "%F:5: duplicate key \"exec\" in [hook h] (first on line 4)"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nevents = x.*\n",
     "%F:5: events: \"x.*\" matches no event type"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nevents = device.* Device.renamed  key\n",
     "%F:5: events: \"Device.renamed\" matches no event type\n"
     "%F:5: events: \"key\" matches no event type"},
    /* Presence events are off unless named in full. */
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nevents = device.on*\n",
     "%F:5: events: \"device.on*\" matches no event type"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nevents = *.nothing[\n",
     "%F:5: events: \"*.nothing[\" matches no event type"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\ntimeout = 50ms\n",
     "%F:5: timeout: \"50ms\" is below the minimum of 100ms"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\ntimeout = soon\n",
     "%F:5: timeout: \"soon\" is not a duration (e.g. 60s, 5m, 1h)"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nkill_grace = 2h\n",
     "%F:5: kill_grace: \"2h\" is above the maximum of 1h"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nretry_min = 1ms\n",
     "%F:5: retry_min: \"1ms\" is below the minimum of 10ms"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nretry_max = 0\n",
     "%F:5: retry_max: \"0\" is below the minimum of 10ms"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nretry_min = 1m\nretry_max = 30s\n",
     "%F:3: [hook h] retry_max (30s) is below retry_min (1m)"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nretry_max = 5s\n",
     "%F:3: [hook h] retry_max (5s) is below retry_min (10s)"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nmax_attempts = -1\n",
     "%F:5: max_attempts: \"-1\" is not a number from 0 to 1000000"},
    {"[tailnet a]\n" AUTH "[hook h]\nexec = /x\nmax_attempts = 1000001\n",
     "%F:5: max_attempts: \"1000001\" is not a number from 0 to 1000000"},
    {"[daemon]\nhook_concurrency = 0\n[tailnet a]\n" AUTH,
     "%F:2: hook_concurrency: \"0\" is not a number from 1 to 64"},
    {"[daemon]\nhook_concurrency = 65\n[tailnet a]\n" AUTH,
     "%F:2: hook_concurrency: \"65\" is not a number from 1 to 64"},
    {"[tailnet a]\n" AUTH "[hook h]\napi_key_file = /k\n",
     "%F:3: [hook h] needs exec = /path/to/program\n"
     "%F:4: unknown key \"api_key_file\" in [hook h]: it belongs in [tailnet NAME]"},
    {"[tailnet a]\n" AUTH "[hooks h]\nexec = /x\n", "%F:3: unknown section [hooks h]"},
    /* [netbox] */
    {"[tailnet a]\n" AUTH "[netbox]\n[netbox]\n",
     "%F:4: duplicate section [netbox] (first on line 3)"},
    {"[tailnet a]\n" AUTH "[netbox x]\n", "%F:3: unknown section [netbox x]"},
    {"[tailnet a]\n" AUTH "[netbox]\nurl = https://nb.example.com\n",
     "%F:3: [netbox] url needs token_file"},
    {"[tailnet a]\n" AUTH "[netbox]\ntoken_file = t\n", "%F:3: [netbox] token_file needs url"},
    {"[tailnet a]\n" AUTH "[netbox]\nurl = http://nb.example.com\ntoken_file = t\n",
     "%F:4: url must be https:// (plain http only for a loopback host)"},
    {"[tailnet a]\n" AUTH "[netbox]\ninterval = 10ms\n",
     "%F:3: [netbox] interval must be 0 (only when asked) or 1s or more"},
    {"[tailnet a]\n" AUTH "[netbox]\nvrf = a\n", "%F:4: vrf: \"a\" is not TAILNET:VRF NAME"},
    {"[tailnet a]\n" AUTH "[netbox]\nvrf = :x\n", "%F:4: vrf: \":x\" is not TAILNET:VRF NAME"},
    {"[tailnet a]\n" AUTH "[netbox]\nvrf = a:\n", "%F:4: vrf: \"a:\" is not TAILNET:VRF NAME"},
    {"[tailnet a]\n" AUTH "[netbox]\nvrf = a b:x\n",
     "%F:4: vrf: \"a b:x\" is not TAILNET:VRF NAME"},
    {"[tailnet a]\n" AUTH "[netbox]\nvrf = b:x\n", "%F:4: vrf: no [tailnet b] section"},
    {"[tailnet a]\n" AUTH "[netbox]\nvrf = a:x\nvrf = a:y\n",
     "%F:5: vrf: tailnet a has a VRF already (line 4)"},
    {"[tailnet a]\n" AUTH "[tailnet b]\n" AUTH "[netbox]\nvrf = a:x\nvrf = b:x\n",
     "%F:7: vrf: tailnets a and b both in VRF \"x\": each needs its own, they can hand out "
     "the same address"},
    {"[tailnet a]\n" AUTH "[tailnet b]\n" AUTH
     "[netbox]\nurl = https://nb\ntoken_file = t\nvrf = a:x\n",
     "%F:5: [netbox] needs vrf = b:VRF NAME: with several tailnets each needs its own VRF"},
    {"[tailnet a]\n" AUTH "[netbox]\nowner_tag = ts inv\n",
     "%F:4: owner_tag: \"ts inv\" is not a NetBox slug (A-Z a-z 0-9 _ -)"},
    {"[tailnet a]\n" AUTH "[netbox]\ntag_prefix = ts:\n",
     "%F:4: tag_prefix: \"ts:\" is not a NetBox slug (A-Z a-z 0-9 _ -)"},
    {"[tailnet a]\n" AUTH "[netbox]\ncf_node_id = Node-ID\n",
     "%F:4: cf_node_id: \"Node-ID\" is not a NetBox custom field name (a-z 0-9 _)"},
    {"[tailnet a]\n" AUTH "[netbox]\nbatch_size = 0\n",
     "%F:4: batch_size: \"0\" is not a number from 1 to 1000"},
    {"[tailnet a]\n" AUTH "[netbox]\ninterval = 1h\ninterval = 2h\n",
     "%F:5: duplicate key \"interval\" in [netbox] (first on line 4)"},
    {"[tailnet a]\n" AUTH "[netbox]\napi_key_file = /k\n",
     "%F:4: unknown key \"api_key_file\" in [netbox]: it belongs in [tailnet NAME]"},
};

START_TEST(test_bad)
{
	load_fails(bad[_i].text, bad[_i].errors);
}
END_TEST

START_TEST(test_defaults)
{
	struct config *cf = load_ok("[tailnet prod]\napi_key_file = api-key\n");
	const struct config_tailnet *tn;

	ck_assert_str_eq(cf->state_dir, "/var/lib/tsinv");
	ck_assert_str_eq(cf->socket, "/run/tsinv/tsinvd.sock");
	ck_assert_int_eq(cf->socket_mode, 0660);
	ck_assert_ptr_null(cf->socket_group);
	ck_assert_uint_eq(cf->map_size_max, (size_t)16 << 30);
	ck_assert_int_eq(cf->max_clients, 256);
	ck_assert_int_eq(cf->max_clients_per_uid, 32);
	ck_assert_int_eq(cf->client_timeout, 30 * SEC);
	ck_assert_int_eq(cf->verbose, 0);
	ck_assert_int_eq(cf->hook_concurrency, 4);
	ck_assert_int_eq(cf->strict_permissions, 0);
	ck_assert_uint_eq(cf->nhooks, 0);
	ck_assert_ptr_null(cf->hooks);
	ck_assert_ptr_nonnull(cf->path);
	ck_assert_uint_eq(cf->ntailnets, 1);
	tn = &cf->tailnets[0];
	ck_assert_str_eq(tn->name, "prod");
	ck_assert_int_eq(tn->line, 1);
	ck_assert_str_eq(tn->api_url, "https://api.tailscale.com");
	ck_assert_str_eq(tn->tailnet, "-");
	ck_assert_str_eq(tn->api_key_file, "api-key");
	ck_assert_ptr_null(tn->oauth_client_id);
	ck_assert_ptr_null(tn->oauth_client_secret_file);
	ck_assert_int_eq(tn->poll_interval, 300 * SEC);
	ck_assert_int_eq(tn->connect_timeout, 10 * SEC);
	ck_assert_int_eq(tn->request_timeout, 60 * SEC);
	ck_assert_uint_eq(tn->max_response, (size_t)64 << 20);
	ck_assert_int_eq(tn->mass_delete_percent, 50);
	ck_assert_uint_eq(tn->key_expiry_warn.n, 3);
	ck_assert_int_eq(tn->key_expiry_warn.v[0], 14 * 86400 * SEC);
	ck_assert_int_eq(tn->key_expiry_warn.v[1], 7 * 86400 * SEC);
	ck_assert_int_eq(tn->key_expiry_warn.v[2], 86400 * SEC);
	ck_assert_int_eq(tn->presence_events, 0);
	/* Every endpoint but posture, which asks once per device: only on request. */
	ck_assert_uint_eq(tn->endpoints, CONFIG_ENDPOINTS_ALL & ~(1u << ENDPOINT_posture));
	ck_assert_int_eq(tn->posture_interval, 0);
	ck_assert_int_eq(tn->posture_concurrency, 4);
	ck_assert_ptr_eq(config_tailnet_find(cf, "prod"), tn);
	ck_assert_ptr_null(config_tailnet_find(cf, "Prod"));
	ck_assert_ptr_null(config_tailnet_find(cf, ""));
	config_free(cf);
	config_free(NULL);
}
END_TEST

START_TEST(test_expiry_presence)
{
	struct config *cf = load_ok("[tailnet a]\napi_key_file = k\nkey_expiry_warn = 1d 30d 12h\n"
	                            "presence_events = yes\n[tailnet b]\napi_key_file = k\n"
	                            "key_expiry_warn = none\n");

	/* Any order in, largest first out. */
	ck_assert_uint_eq(cf->tailnets[0].key_expiry_warn.n, 3);
	ck_assert_int_eq(cf->tailnets[0].key_expiry_warn.v[0], 30 * 86400 * SEC);
	ck_assert_int_eq(cf->tailnets[0].key_expiry_warn.v[1], 86400 * SEC);
	ck_assert_int_eq(cf->tailnets[0].key_expiry_warn.v[2], 12 * 3600 * SEC);
	ck_assert_int_eq(cf->tailnets[0].presence_events, 1);
	ck_assert_uint_eq(cf->tailnets[1].key_expiry_warn.n, 0);
	ck_assert_int_eq(cf->tailnets[1].presence_events, 0);
	config_free(cf);
	load_fails("[tailnet a]\napi_key_file = k\nkey_expiry_warn = 7d soon\n",
	           "%F:3: key_expiry_warn: \"soon\" is not a duration (e.g. 60s, 5m, 1h)");
	load_fails("[tailnet a]\napi_key_file = k\nkey_expiry_warn = 0s\n",
	           "%F:3: key_expiry_warn: a threshold must be from 1s to 365d");
	load_fails("[tailnet a]\napi_key_file = k\nkey_expiry_warn = 1d 2d 3d 4d 5d 6d 7d 8d 9d\n",
	           "%F:3: key_expiry_warn: at most 8 durations");
	load_fails("[tailnet a]\napi_key_file = k\npresence_events = maybe\n",
	           "%F:3: presence_events: \"maybe\" is not yes or no");
}
END_TEST

START_TEST(test_endpoints)
{
	struct config *cf =
	    load_ok("[tailnet a]\napi_key_file = k\nendpoints = policy devices\t keys\n"
	            "[tailnet b]\napi_key_file = k\nendpoints = webhooks\n");
	size_t i;

	/* A bit per name, in the order of config_endpoint_names. */
	for (i = 0; config_endpoint_names[i] != NULL; i++)
		;
	ck_assert_uint_eq(i, 9);
	ck_assert_str_eq(config_endpoint_names[0], "devices");
	ck_assert_str_eq(config_endpoint_names[1], "keys");
	ck_assert_str_eq(config_endpoint_names[3], "policy");
	ck_assert_str_eq(config_endpoint_names[6], "webhooks");
	ck_assert_str_eq(config_endpoint_names[7], "audit");
	ck_assert_str_eq(config_endpoint_names[8], "posture");
	ck_assert_uint_eq(CONFIG_ENDPOINTS_ALL, (1u << i) - 1);
	ck_assert_uint_eq(cf->tailnets[0].endpoints, 1u << 0 | 1u << 1 | 1u << 3);
	ck_assert_uint_eq(cf->tailnets[1].endpoints, 1u << 6);
	config_free(cf);
	load_fails("[tailnet a]\napi_key_file = k\nendpoints = devices acl\n",
	           "%F:3: endpoints: \"acl\" is not one of devices keys users policy dns settings "
	           "webhooks audit posture");
	load_fails("[tailnet a]\napi_key_file = k\nendpoints = devicesx\n",
	           "%F:3: endpoints: \"devicesx\" is not one of devices keys users policy dns "
	           "settings webhooks audit posture");
}
END_TEST

/* The audit log's own pace and windows: defaults, values, bounds with file:line. */
START_TEST(test_audit_keys)
{
	struct config *cf = load_ok("[tailnet a]\napi_key_file = k\n[tailnet b]\napi_key_file = "
	                            "k\naudit_interval = 1m\naudit_overlap = 0s\n"
	                            "audit_backfill = 7d\n");

	ck_assert_int_eq(cf->tailnets[0].audit_interval, 0);
	ck_assert_int_eq(cf->tailnets[0].audit_overlap, 15 * 60 * TSTIME_SEC);
	ck_assert_int_eq(cf->tailnets[0].audit_backfill, 90 * 86400 * TSTIME_SEC);
	ck_assert_int_eq(cf->tailnets[1].audit_interval, 60 * TSTIME_SEC);
	ck_assert_int_eq(cf->tailnets[1].audit_overlap, 0);
	ck_assert_int_eq(cf->tailnets[1].audit_backfill, 7 * 86400 * TSTIME_SEC);
	ck_assert_uint_eq(cf->tailnets[0].endpoints & 1u << ENDPOINT_audit, 1u << ENDPOINT_audit);
	config_free(cf);
	load_fails("[tailnet a]\napi_key_file = k\naudit_backfill = 91d\n",
	           "%F:3: audit_backfill: \"91d\" is above the maximum of 90d");
	load_fails("[tailnet a]\napi_key_file = k\naudit_interval = soon\n",
	           "%F:3: audit_interval: \"soon\" is not a duration (e.g. 60s, 5m, 1h)");
}
END_TEST

/* Posture: off by default, on when named; its pace and its cap, checked with file:line. */
START_TEST(test_posture_keys)
{
	struct config *cf = load_ok("[tailnet a]\napi_key_file = k\n[tailnet b]\napi_key_file = "
	                            "k\nendpoints = devices posture\nposture_interval = 1h\n"
	                            "posture_concurrency = 16\n");

	ck_assert_uint_eq(cf->tailnets[0].endpoints & 1u << ENDPOINT_posture, 0);
	ck_assert_uint_eq(cf->tailnets[1].endpoints,
	                  1u << ENDPOINT_devices | 1u << ENDPOINT_posture);
	ck_assert_int_eq(cf->tailnets[1].posture_interval, 3600 * TSTIME_SEC);
	ck_assert_int_eq(cf->tailnets[1].posture_concurrency, 16);
	config_free(cf);
	load_fails("[tailnet a]\napi_key_file = k\nposture_concurrency = 0\n",
	           "%F:3: posture_concurrency: \"0\" is not a number from 1 to 64");
	load_fails("[tailnet a]\napi_key_file = k\nposture_concurrency = 65\n",
	           "%F:3: posture_concurrency: \"65\" is not a number from 1 to 64");
	load_fails("[tailnet a]\napi_key_file = k\n\nposture_concurrency = many\n",
	           "%F:4: posture_concurrency: \"many\" is not a number from 1 to 64");
	load_fails("[tailnet a]\napi_key_file = k\nendpoints = keys posture\n",
	           "%F:3: endpoints: posture needs devices (it asks each device they list)");
	load_fails("[tailnet a]\napi_key_file = k\nposture_interval = 0s\n",
	           "%F:3: posture_interval: \"0s\" is below the minimum of 1s");
}
END_TEST

/* The config's names and the endpoint rows come from one list, in one order; the kind bytes are
 * the store's format and never move. */
START_TEST(test_endpoint_rows)
{
	static const char kinds[] = "dkupnswAa";
	size_t i, j;

	ck_assert_uint_eq(ENDPOINT__COUNT, sizeof(kinds) - 1);
	for (i = 0; i < ENDPOINT__COUNT; i++) {
		const struct endpoint *e = &endpoints[i];

		ck_assert_str_eq(e->name, config_endpoint_names[i]);
		ck_assert_ptr_eq(endpoint_find(e->name), e);
		ck_assert_int_eq(e->kind, kinds[i]);
		ck_assert_ptr_nonnull(e->apply);
		/* A row without paths asks its plan's requests alone. */
		ck_assert(endpoint_npaths(e) >= 1 || e->plan != NULL);
		ck_assert(e->plan == NULL || e->plan_path != NULL);
		/* A 403 names the scope the credential lacks. */
		ck_assert_ptr_nonnull(e->scope);
		for (j = 0; j < i; j++)
			ck_assert_int_ne(e->kind, endpoints[j].kind);
	}
	ck_assert_ptr_null(endpoint_find("acl"));
	ck_assert_int_eq(endpoints[ENDPOINT_devices].mass_guard, 1);
	ck_assert_int_eq(endpoints[ENDPOINT_keys].mass_guard, 0);
	ck_assert_int_eq(endpoints[ENDPOINT_policy].text, 1);
	/* DNS in one read; an older server's four paths are its fallback, recorded as the same
	 * endpoint and kind. */
	ck_assert_uint_eq(endpoint_npaths(&endpoints[ENDPOINT_dns]), 1);
	ck_assert_str_eq(endpoints[ENDPOINT_dns].paths[0], "dns/configuration");
	ck_assert_ptr_nonnull(endpoints[ENDPOINT_dns].fallback);
	ck_assert_uint_eq(endpoint_npaths(endpoints[ENDPOINT_dns].fallback), 4);
	ck_assert_str_eq(endpoints[ENDPOINT_dns].fallback->name, endpoints[ENDPOINT_dns].name);
	ck_assert_int_eq(endpoints[ENDPOINT_dns].fallback->kind, endpoints[ENDPOINT_dns].kind);
	ck_assert_ptr_nonnull(endpoints[ENDPOINT_dns].fallback->what);
}
END_TEST

START_TEST(test_netbox)
{
	struct config *cf = load_ok("[tailnet a]\napi_key_file = k\n");
	const struct config_netbox *nb = &cf->netbox;

	/* Without the section: the export's mapping with its defaults, no sync. */
	ck_assert_int_eq(nb->line, 0);
	ck_assert_ptr_null(nb->url);
	ck_assert_ptr_null(nb->token_file);
	ck_assert_uint_eq(nb->nvrfs, 0);
	ck_assert_str_eq(nb->owner_tag, "tsinv");
	ck_assert_ptr_null(nb->tag_prefix);
	ck_assert_int_eq(nb->interval, 3600 * SEC);
	ck_assert_int_eq(nb->deprecated_window, 7 * 86400 * SEC);
	ck_assert_int_eq(nb->last_seen_slack, 86400 * SEC);
	ck_assert_str_eq(nb->cf_node_id, "tailscale_node_id");
	ck_assert_str_eq(nb->cf_tailnet, "tailnet");
	ck_assert_str_eq(nb->cf_last_seen, "last_seen");
	ck_assert_int_eq(nb->connect_timeout, 10 * SEC);
	ck_assert_int_eq(nb->request_timeout, 60 * SEC);
	ck_assert_int_eq(nb->batch_size, 100);
	ck_assert_uint_eq(nb->max_response, (size_t)64 << 20);
	ck_assert_ptr_null(config_netbox_vrf(cf, "a"));
	config_free(cf);

	cf = load_ok("[tailnet a]\napi_key_file = k\n[tailnet b]\napi_key_file = k\n"
	             "[netbox]\nurl = https://netbox.example.com/\ntoken_file = netbox-token\n"
	             "vrf = a:Tailscale A\nvrf = b:ts-b\nowner_tag = tsinvd\ntag_prefix = ts-\n"
	             "interval = 0\ndeprecated_window = 30d\nlast_seen_slack = 0\n"
	             "cf_node_id = ts_node\ncf_tailnet = ts_net\ncf_last_seen = ts_seen\n"
	             "connect_timeout = 2s\nrequest_timeout = 5s\nbatch_size = 10\n"
	             "max_response = 1M\n");
	nb = &cf->netbox;
	ck_assert_int_eq(nb->line, 5);
	ck_assert_str_eq(nb->url, "https://netbox.example.com");
	ck_assert_str_eq(nb->token_file, "netbox-token");
	ck_assert_uint_eq(nb->nvrfs, 2);
	ck_assert_str_eq(config_netbox_vrf(cf, "a"), "Tailscale A");
	ck_assert_str_eq(config_netbox_vrf(cf, "b"), "ts-b");
	ck_assert_ptr_null(config_netbox_vrf(cf, "c"));
	ck_assert_int_eq(nb->vrfs[1].line, 9);
	ck_assert_str_eq(nb->owner_tag, "tsinvd");
	ck_assert_str_eq(nb->tag_prefix, "ts-");
	ck_assert_int_eq(nb->interval, 0);
	ck_assert_int_eq(nb->deprecated_window, 30 * 86400 * SEC);
	ck_assert_int_eq(nb->last_seen_slack, 0);
	ck_assert_str_eq(nb->cf_node_id, "ts_node");
	ck_assert_str_eq(nb->cf_tailnet, "ts_net");
	ck_assert_str_eq(nb->cf_last_seen, "ts_seen");
	ck_assert_int_eq(nb->connect_timeout, 2 * SEC);
	ck_assert_int_eq(nb->request_timeout, 5 * SEC);
	ck_assert_int_eq(nb->batch_size, 10);
	ck_assert_uint_eq(nb->max_response, (size_t)1 << 20);
	config_free(cf);

	/* One tailnet may use NetBox's global table; a mapping without a URL is for exports. */
	cf = load_ok("[tailnet a]\napi_key_file = k\n[netbox]\nurl = http://127.0.0.1:8000\n"
	             "token_file = /t\n");
	ck_assert_str_eq(cf->netbox.url, "http://127.0.0.1:8000");
	config_free(cf);
	cf = load_ok("[tailnet a]\napi_key_file = k\n[tailnet b]\napi_key_file = k\n[netbox]\n"
	             "vrf = a:x\n");
	ck_assert_ptr_null(config_netbox_vrf(cf, "b"));
	config_free(cf);
}
END_TEST

START_TEST(test_full_fixture)
{
	char *errors = NULL;
	struct config *cf = config_load(TESTDATA "/config/full.conf", &errors);
	const struct config_tailnet *tn;

	ck_assert_msg(cf != NULL, "%s", errors);
	ck_assert_str_eq(cf->path, TESTDATA "/config/full.conf");
	ck_assert_str_eq(cf->state_dir, "/srv/tsinv");
	ck_assert_str_eq(cf->socket, "/run/tsinv-test/q.sock");
	ck_assert_int_eq(cf->socket_mode, 0640);
	ck_assert_str_eq(cf->socket_group, "tsinv");
	ck_assert_uint_eq(cf->map_size_max, (size_t)2 << 30);
	ck_assert_int_eq(cf->max_clients, 10);
	ck_assert_int_eq(cf->max_clients_per_uid, 2);
	ck_assert_int_eq(cf->client_timeout, 90 * SEC);
	ck_assert_int_eq(cf->verbose, 1);
	ck_assert_uint_eq(cf->ntailnets, 2);

	tn = config_tailnet_find(cf, "prod");
	ck_assert_ptr_eq(tn, &cf->tailnets[0]);
	ck_assert_int_eq(tn->line, 13);
	ck_assert_str_eq(tn->api_url, "https://api.example.com"); /* trailing slash dropped */
	ck_assert_str_eq(tn->tailnet, "example.com");
	ck_assert_str_eq(tn->api_key_file, "/etc/tsinv/api-key");
	ck_assert_int_eq(tn->poll_interval, 60 * SEC);
	ck_assert_int_eq(tn->connect_timeout, 5 * SEC);
	ck_assert_int_eq(tn->request_timeout, 120 * SEC);
	ck_assert_uint_eq(tn->max_response, 512 * 1024);
	ck_assert_int_eq(tn->mass_delete_percent, 25);

	tn = config_tailnet_find(cf, "lab.2_x-y");
	ck_assert_ptr_eq(tn, &cf->tailnets[1]);
	ck_assert_int_eq(tn->line, 24);
	ck_assert_str_eq(tn->api_url, "http://127.0.0.1:8088");
	ck_assert_ptr_null(tn->api_key_file);
	ck_assert_str_eq(tn->oauth_client_id, "k123CNTRL");
	ck_assert_str_eq(tn->oauth_client_secret_file, "oauth-secret");
	ck_assert_int_eq(tn->poll_interval, 300 * SEC);
	config_free(cf);
}
END_TEST

START_TEST(test_errors_fixture)
{
	static const char *want[] = {
	    "3: state_dir: \"relative/dir\" is not an absolute path",
	    "4: socket_mode: \"0999\" is not an octal mode (e.g. 0660)",
	    "5: unknown key \"foo\" in [daemon]",
	    "6: max_clients: \"0\" is not a number from 1 to 65536",
	    "7: log_level: \"loud\" is not info or debug",
	    "8: duplicate key \"state_dir\" in [daemon] (first on line 3)",
	    ("10: [tailnet prod] " NEEDS),
	    "11: api_url must be https:// (plain http only for a loopback host)",
	    "12: poll_interval: \"5x\" is not a duration (e.g. 60s, 5m, 1h)",
	    "13: duplicate key \"poll_interval\" in [tailnet prod] (first on line 12)",
	    "14: max_response: \"10\" is below the minimum of 1k",
	    "15: mass_delete_percent: \"101\" is not a number from 1 to 100",
	    "16: expected \"key = value\"",
	    "18: duplicate section [tailnet prod] (first on line 10)",
	    "20: unknown section [hooks]",
	    "21: bad tailnet name \"bad name\": use 1 to 64 characters of A-Z a-z 0-9 . _ -",
	    "22: [tailnet] needs a name: [tailnet NAME]",
	    "23: duplicate section [daemon] (first on line 2)",
	};
	const char *path = TESTDATA "/config/errors.conf";
	char *errors = NULL, *line, *save = NULL;
	char expect[256];
	size_t i = 0;

	ck_assert_ptr_null(config_load(path, &errors));
	ck_assert_ptr_nonnull(errors);
	for (line = strtok_r(errors, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		ck_assert_uint_lt(i, sizeof want / sizeof want[0]);
		snprintf(expect, sizeof expect, "%s:%s", path, want[i++]);
		ck_assert_str_eq(line, expect);
	}
	ck_assert_uint_eq(i, sizeof want / sizeof want[0]);
	free(errors);
}
END_TEST

/* The shipped example must load as it is. */
START_TEST(test_example_conf)
{
	char *errors = NULL;
	struct config *cf = config_load(TESTDATA "/../../conf/tsinvd.conf", &errors);

	ck_assert_msg(cf != NULL, "%s", errors);
	ck_assert_uint_eq(cf->ntailnets, 1);
	ck_assert_str_eq(cf->tailnets[0].name, "prod");
	ck_assert_str_eq(cf->tailnets[0].api_key_file, "api-key");
	ck_assert_str_eq(cf->tailnets[0].api_url, "https://api.tailscale.com");
	ck_assert_str_eq(cf->state_dir, "/var/lib/tsinv");
	config_free(cf);
}
END_TEST

START_TEST(test_hooks)
{
	struct config *cf;
	const struct config_hook *hk;

	cf = load_ok("[daemon]\nhook_concurrency = 64\n"
	             "[hook slack]\nexec = /etc/tsinv/hooks/slack.sh\n"
	             "[tailnet a]\n" AUTH "[hook audit-log.2]  ; every event\n"
	             "exec = /usr/local/bin/audit hook\n"
	             "events = device.* \t device.key.expiring device.online  ; comment\n"
	             "timeout = 1s\nkill_grace = 0\nretry_min = 10ms\nretry_max = 10ms\n"
	             "max_attempts = 0\n"
	             "[hook a]\nexec = /x\nevents = device.renamed\n");
	ck_assert_int_eq(cf->hook_concurrency, 64);
	ck_assert_uint_eq(cf->ntailnets, 1);
	ck_assert_uint_eq(cf->nhooks, 3);

	hk = config_hook_find(cf, "slack");
	ck_assert_ptr_eq(hk, &cf->hooks[0]);
	ck_assert_int_eq(hk->line, 3);
	ck_assert_str_eq(hk->exec, "/etc/tsinv/hooks/slack.sh");
	ck_assert_str_eq(hk->events, "*");
	ck_assert_int_eq(hk->timeout, 30 * SEC);
	ck_assert_int_eq(hk->kill_grace, 5 * SEC);
	ck_assert_int_eq(hk->retry_min, 10 * SEC);
	ck_assert_int_eq(hk->retry_max, 600 * SEC);
	ck_assert_int_eq(hk->max_attempts, 10);

	hk = config_hook_find(cf, "audit-log.2");
	ck_assert_ptr_eq(hk, &cf->hooks[1]);
	ck_assert_int_eq(hk->line, 7);
	ck_assert_str_eq(hk->exec, "/usr/local/bin/audit hook");
	ck_assert_str_eq(hk->events, "device.* \t device.key.expiring device.online");
	ck_assert_int_eq(hk->timeout, SEC);
	ck_assert_int_eq(hk->kill_grace, 0);
	ck_assert_int_eq(hk->retry_min, SEC / 100);
	ck_assert_int_eq(hk->retry_max, SEC / 100);
	ck_assert_int_eq(hk->max_attempts, 0);

	/* A hook and a tailnet may share a name. */
	ck_assert_ptr_eq(config_hook_find(cf, "a"), &cf->hooks[2]);
	ck_assert_ptr_eq(config_tailnet_find(cf, "a"), &cf->tailnets[0]);
	ck_assert_ptr_null(config_hook_find(cf, "Slack"));
	config_free(cf);
}
END_TEST

/* exec is only checked for existence on demand (tsinvd -n, start-up). */
START_TEST(test_check_hooks)
{
	char *text, *path, *dir, *ok, *noexec, *missing, *errors = NULL, *want;
	struct config *cf;
	FILE *f;

	ck_assert_int_ne(asprintf(&ok, "%s/hook-ok.sh", tmpdir), -1);
	ck_assert_int_ne(asprintf(&noexec, "%s/hook-noexec.sh", tmpdir), -1);
	ck_assert_int_ne(asprintf(&missing, "%s/hook-missing.sh", tmpdir), -1);
	ck_assert_int_ne(asprintf(&dir, "%s/hook-dir", tmpdir), -1);
	ck_assert_ptr_nonnull(f = fopen(ok, "w"));
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(ok, 0755), 0);
	ck_assert_ptr_nonnull(f = fopen(noexec, "w"));
	fclose(f);
	ck_assert_int_eq(chmod(noexec, 0644), 0);
	ck_assert_int_eq(mkdir(dir, 0755), 0);

	ck_assert_int_ne(asprintf(&text, "[tailnet a]\n" AUTH "[hook ok]\nexec = %s\n", ok), -1);
	cf = load_ok(text);
	ck_assert_int_eq(config_check_hooks(cf, &errors), 0);
	ck_assert_ptr_null(errors);
	config_free(cf);
	free(text);

	/* config_load accepts all of them; the check names each bad one. */
	ck_assert_int_ne(asprintf(&text,
	                          "[tailnet a]\n" AUTH "[hook ok]\nexec = %s\n"
	                          "[hook noexec]\nexec = %s\n[hook missing]\nexec = %s\n"
	                          "[hook dir]\nexec = %s\n",
	                          ok, noexec, missing, dir),
	                 -1);
	cf = load_ok(text);
	path = cf->path;
	ck_assert_int_eq(config_check_hooks(cf, &errors), -1);
	ck_assert_int_ne(asprintf(&want,
	                          "%s:5: [hook noexec] exec %s: not executable\n"
	                          "%s:7: [hook missing] exec %s: No such file or directory\n"
	                          "%s:9: [hook dir] exec %s: not a regular file",
	                          path, noexec, path, missing, path, dir),
	                 -1);
	/* root may execute anything with an x bit, but not a file without one */
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
	config_free(cf);
	free(text);
	free(ok);
	free(noexec);
	free(missing);
	free(dir);
}
END_TEST

START_TEST(test_syntax_variants)
{
	struct config *cf;
	char name64[65], *text;

	/* CRLF endings, a BOM, indentation, ':' as separator, comments of both kinds. */
	cf = load_ok("\xef\xbb\xbf[daemon]\r\n"
	             "  ; comment\r\n"
	             "\t# comment\r\n"
	             "state_dir=/a\r\n"
	             "  socket  =  /b/s  \r\n"
	             "max_clients: 7\r\n"
	             "\r\n"
	             " [ tailnet   p ] \r\n"
	             "api_key_file = /k\r\n"
	             "   poll_interval = 90s");
	ck_assert_str_eq(cf->state_dir, "/a");
	ck_assert_str_eq(cf->socket, "/b/s");
	ck_assert_int_eq(cf->max_clients, 7);
	ck_assert_str_eq(cf->tailnets[0].name, "p");
	ck_assert_int_eq(cf->tailnets[0].line, 8);
	ck_assert_int_eq(cf->tailnets[0].poll_interval, 90 * SEC);
	config_free(cf);

	/* 64 characters: more than inih keeps of a section name. */
	memset(name64, 'n', 64);
	name64[64] = '\0';
	ck_assert_int_ne(asprintf(&text,
	                          "[tailnet %s]\napi_key_file = k\n[tailnet %.63s]\n"
	                          "api_key_file = k\n",
	                          name64, name64),
	                 -1);
	cf = load_ok(text);
	ck_assert_uint_eq(cf->ntailnets, 2);
	ck_assert_str_eq(cf->tailnets[0].name, name64);
	ck_assert_ptr_nonnull(config_tailnet_find(cf, name64));
	config_free(cf);
	free(text);

	/* Values keep inner spaces and ';', '#'; http on loopback is fine; a key may be long. */
	cf = load_ok("[daemon]\nstate_dir = /a b;c#d\n[tailnet a]\napi_key_file = my key\n"
	             "api_url = http://localhost:99/x/\ntailnet = user@example.com\n");
	ck_assert_str_eq(cf->state_dir, "/a b;c#d");
	ck_assert_str_eq(cf->tailnets[0].api_key_file, "my key");
	ck_assert_str_eq(cf->tailnets[0].api_url, "http://localhost:99/x");
	ck_assert_str_eq(cf->tailnets[0].tailnet, "user@example.com");
	config_free(cf);

	/* Comments after values and headers, as in README.md. */
	cf = load_ok("[daemon]\n"
	             "state_dir = /var/lib/tsinv\n"
	             "socket = /run/tsinv/tsinvd.sock\n"
	             "\n"
	             "[tailnet prod]                 ; one section per tailnet\n"
	             "api_url = https://api.tailscale.com ; default\n"
	             "tailnet = -                    ; the API's path segment\n"
	             "api_key_file = api-key#1\t# '#' in a value stays\n"
	             "poll_interval = 5m ;\n");
	ck_assert_str_eq(cf->tailnets[0].name, "prod");
	ck_assert_str_eq(cf->tailnets[0].tailnet, "-");
	ck_assert_str_eq(cf->tailnets[0].api_key_file, "api-key#1");
	ck_assert_int_eq(cf->tailnets[0].poll_interval, 300 * SEC);
	config_free(cf);

	cf = load_ok("[daemon]\nsocket_mode = 600\nmap_size_max = 1M\nlog_level = info\n"
	             "[tailnet a]\noauth_client_id = id\noauth_client_secret_file = s\n"
	             "mass_delete_percent = 100\nmax_response = 1k\npoll_interval = 1s\n");
	ck_assert_int_eq(cf->socket_mode, 0600);
	ck_assert_uint_eq(cf->map_size_max, 1 << 20);
	ck_assert_int_eq(cf->tailnets[0].mass_delete_percent, 100);
	ck_assert_uint_eq(cf->tailnets[0].max_response, 1024);
	ck_assert_int_eq(cf->tailnets[0].poll_interval, SEC);
	config_free(cf);
}
END_TEST

START_TEST(test_long_line)
{
	char *text = malloc(10000), *path, *errors = NULL, *want;

	strcpy(text, "[tailnet a]\napi_key_file = /");
	memset(text + strlen(text), 'k', 5000);
	strcpy(text + 28 + 5000, "\nfoo = 1\n");
	path = write_file(text, strlen(text));
	ck_assert_ptr_null(config_load(path, &errors));
	ck_assert_int_ne(asprintf(&want,
	                          "%s:1: [tailnet a] " NEEDS
	                          "\n%s:2: line longer than 4094 characters\n"
	                          "%s:3: unknown key \"foo\" in [tailnet a]",
	                          path, path, path),
	                 -1);
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
	free(path);
	free(text);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "[tailnet a]\napi_key_file = /k\nfoo\0 = 1\n";
	char *path = write_file(text, sizeof text - 1), *errors = NULL, *want;

	ck_assert_ptr_null(config_load(path, &errors));
	ck_assert_int_ne(asprintf(&want, "%s:3: control character in line", path), -1);
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
	free(path);
}
END_TEST

START_TEST(test_too_many_errors)
{
	char *text = malloc(20000), *path, *errors = NULL, *p, *last;
	size_t n = 0;
	int i;

	strcpy(text, "[daemon]\n");
	for (i = 0; i < 150; i++)
		strcat(text, "foo = 1\n");
	path = write_file(text, strlen(text));
	ck_assert_ptr_null(config_load(path, &errors));
	for (p = errors; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	ck_assert_uint_eq(n, 100); /* 100 errors and the final note */
	last = strrchr(errors, '\n') + 1;
	ck_assert_ptr_nonnull(strstr(last, ": too many errors, stopped after 100"));
	ck_assert_ptr_nonnull(strstr(errors, ":101: unknown key \"foo\" in [daemon]"));
	ck_assert_ptr_null(strstr(errors, ":102:"));
	free(errors);
	free(path);
	free(text);
}
END_TEST

START_TEST(test_unreadable)
{
	char *errors = NULL, *want, *path;

	ck_assert_int_ne(asprintf(&path, "%s/no-such.conf", tmpdir), -1);
	ck_assert_ptr_null(config_load(path, &errors));
	ck_assert_int_ne(asprintf(&want, "%s: cannot open: No such file or directory", path), -1);
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);

	/* A directory opens but does not read. */
	ck_assert_ptr_null(config_load(tmpdir, &errors));
	ck_assert_int_ne(asprintf(&want, "%s: cannot read: Is a directory", tmpdir), -1);
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
	free(path);
}
END_TEST

static const struct {
	const char *s;
	int ok;
	size_t v;
} sizes[] = {
    {"0", 1, 0},
    {"1048576", 1, 1048576},
    {"512k", 1, 512 * 1024},
    {"512K", 1, 512 * 1024},
    {"64M", 1, (size_t)64 << 20},
    {"64m", 1, (size_t)64 << 20},
    {"4G", 1, (size_t)4 << 30},
    {"16g", 1, (size_t)16 << 30},
    {"2T", 1, (size_t)2 << 40},
    {"18446744073709551615", 1, (size_t)18446744073709551615ULL},
    {"16777215T", 1, (size_t)16777215 << 40},
    {"16777216T", 0, 0},
    {"18446744073709551616", 0, 0},
    {"17179869184G", 0, 0},
    {"", 0, 0},
    {"k", 0, 0},
    {"-1", 0, 0},
    {"+1", 0, 0},
    {"1.5G", 0, 0},
    {"1GB", 0, 0},
    {"1GiB", 0, 0},
    {"1 G", 0, 0},
    {" 1G", 0, 0},
    {"1G ", 0, 0},
    {"1P", 0, 0},
    {"0x10", 0, 0},
};

START_TEST(test_parse_size)
{
	size_t v = 42;

	if (sizes[_i].ok) {
		ck_assert_msg(config_parse_size(sizes[_i].s, &v) == 0, "rejected %s", sizes[_i].s);
		ck_assert_uint_eq(v, sizes[_i].v);
	} else {
		ck_assert_msg(config_parse_size(sizes[_i].s, &v) == -1, "accepted %s", sizes[_i].s);
		ck_assert_uint_eq(v, 42);
	}
}
END_TEST

static const struct {
	const char *url;
	int ok;
} urls[] = {
    {"https://api.tailscale.com", 1},
    {"https://api.tailscale.com/", 1},
    {"HTTPS://API.TAILSCALE.COM", 1},
    {"https://api.tailscale.com:443/base/path", 1},
    {"https://10.1.2.3:8443", 1},
    {"https://[2001:db8::1]:8443/", 1},
    {"http://127.0.0.1", 1},
    {"http://127.0.0.1:8088", 1},
    {"http://127.255.255.254:65535/api", 1},
    {"http://localhost", 1},
    {"http://LocalHost:99/", 1},
    {"http://[::1]", 1},
    {"http://[::1]:8080/x", 1},
    {"http://[0:0:0:0:0:0:0:1]:8080", 1},
    {"http://api.tailscale.com", 0},
    {"http://10.0.0.1:8080", 0},
    {"http://128.0.0.1", 0},
    {"http://127.0.0.1.example.com", 0},
    {"http://localhost.example.com", 0},
    {"http://localhost.", 0},
    {"http://[::2]", 0},
    {"http://[::ffff:127.0.0.1]", 0},
    {"http://::1", 0},
    {"http://127.1", 0},
    {"http://user@127.0.0.1", 0},
    {"http://127.0.0.1@evil.example", 0},
    {"https://user:pw@api.tailscale.com", 0},
    {"https://", 0},
    {"https:///path", 0},
    {"https://:443", 0},
    {"https://host:", 0},
    {"https://host:0", 0},
    {"https://host:65536", 0},
    {"https://host:12a", 0},
    {"https://host:443:1", 0},
    {"https://[::1", 0},
    {"https://[nothex]", 0},
    {"https://host name", 0},
    {"https://host/a b", 0},
    {"https://host/?q=1", 0},
    {"https://host/#frag", 0},
    {"https://ho_st", 0},
    {"https://host\n", 0},
    {"ftp://host", 0},
    {"api.tailscale.com", 0},
    {"//api.tailscale.com", 0},
    {"", 0},
    {"http://127.0.0.1:8088\x7f", 0},
};

START_TEST(test_url_allowed)
{
	ck_assert_msg(config_url_allowed(urls[_i].url) == urls[_i].ok, "%s: want %d", urls[_i].url,
	              urls[_i].ok);
}
END_TEST

/* Writes a secret file in tmpdir under NAME; returns its path (malloc'd). */
static char *
write_secret(const char *name, const char *data, size_t len)
{
	char *path;
	FILE *f;

	ck_assert_int_ne(asprintf(&path, "%s/%s", tmpdir, name), -1);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

START_TEST(test_read_secret)
{
	static const struct {
		const char *data;
		size_t len;
		const char *want; /* NULL: an error */
	} cases[] = {
	    {"tskey-api-abc\n", 14, "tskey-api-abc"},
	    {"tskey-api-abc", 13, "tskey-api-abc"},
	    {"tskey-api-abc\r\n", 15, "tskey-api-abc"},
	    {"with space\n", 11, "with space"},
	    {"tskey-api-abc\n\n", 15, NULL},
	    {"tskey-api-abc\nline2\n", 20, NULL},
	    {"tskey\0abc", 9, NULL},
	    {"tskey\tabc", 9, NULL},
	    {"\n", 1, NULL},
	    {"", 0, NULL},
	};
	char *path, *out = NULL, *cause = NULL, name[32];
	size_t i;

	unsetenv("CREDENTIALS_DIRECTORY");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(name, sizeof name, "secret%zu", i);
		path = write_secret(name, cases[i].data, cases[i].len);
		out = cause = NULL;
		if (cases[i].want != NULL) {
			ck_assert_msg(config_read_secret(path, &out, &cause) == 0, "%zu: %s", i,
			              cause);
			ck_assert_str_eq(out, cases[i].want);
			free(out);
		} else {
			ck_assert_int_eq(config_read_secret(path, &out, &cause), -1);
			ck_assert_ptr_null(out);
			ck_assert_int_eq(strncmp(cause, path, strlen(path)), 0);
			/* Never the secret itself, not even part of it. */
			ck_assert_ptr_null(strstr(cause + strlen(path), "tskey"));
			ck_assert_ptr_null(strstr(cause + strlen(path), "abc"));
			free(cause);
		}
		free(path);
	}
}
END_TEST

START_TEST(test_read_secret_errors)
{
	char *path, *big, *out = NULL, *cause = NULL, *want;

	unsetenv("CREDENTIALS_DIRECTORY");
	ck_assert_int_ne(asprintf(&path, "%s/missing", tmpdir), -1);
	ck_assert_int_eq(config_read_secret(path, &out, &cause), -1);
	ck_assert_int_ne(asprintf(&want, "cannot open %s: No such file or directory", path), -1);
	ck_assert_str_eq(cause, want);
	free(want);
	free(cause);
	free(path);

	ck_assert_int_eq(config_read_secret(tmpdir, &out, &cause), -1);
	ck_assert_int_ne(asprintf(&want, "%s: not a regular file", tmpdir), -1);
	ck_assert_str_eq(cause, want);
	free(want);
	free(cause);

	ck_assert_int_eq(config_read_secret("", &out, &cause), -1);
	free(cause);

	big = malloc(70000);
	memset(big, 'a', 70000);
	path = write_secret("big", big, 70000);
	ck_assert_int_eq(config_read_secret(path, &out, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "larger than 65536 bytes"));
	free(cause);
	free(path);
	path = write_secret("max", big, 65536);
	ck_assert_int_eq(config_read_secret(path, &out, &cause), 0);
	ck_assert_uint_eq(strlen(out), 65536);
	free(out);
	free(path);
	free(big);
}
END_TEST

START_TEST(test_read_secret_credentials)
{
	char *cdir, *path, *out = NULL, *cause = NULL;

	ck_assert_int_ne(asprintf(&cdir, "%s/creds", tmpdir), -1);
	ck_assert_int_eq(mkdir(cdir, 0700), 0);
	path = write_secret("creds/api-key", "from-credentials\n", 17);
	free(path);
	path = write_secret("api-key", "from-cwd\n", 9);
	free(path);
	ck_assert_int_eq(chdir(tmpdir), 0);

	/* Relative: $CREDENTIALS_DIRECTORY first, then as given. */
	setenv("CREDENTIALS_DIRECTORY", cdir, 1);
	ck_assert_int_eq(config_read_secret("api-key", &out, &cause), 0);
	ck_assert_str_eq(out, "from-credentials");
	free(out);
	ck_assert_int_eq(config_read_secret("secret-only-here", &out, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "creds/secret-only-here"));
	free(cause);
	path = write_secret("only-cwd", "cwd-secret", 10);
	free(path);
	ck_assert_int_eq(config_read_secret("only-cwd", &out, &cause), 0);
	ck_assert_str_eq(out, "cwd-secret");
	free(out);

	/* Absolute paths ignore it. */
	ck_assert_int_ne(asprintf(&path, "%s/api-key", tmpdir), -1);
	ck_assert_int_eq(config_read_secret(path, &out, &cause), 0);
	ck_assert_str_eq(out, "from-cwd");
	free(out);
	free(path);

	unsetenv("CREDENTIALS_DIRECTORY");
	ck_assert_int_eq(config_read_secret("api-key", &out, &cause), 0);
	ck_assert_str_eq(out, "from-cwd");
	free(out);
	free(cdir);
}
END_TEST

/* TMPL with each KEY (two characters) replaced by VALUE (malloc'd). */
static char *
subst(const char *tmpl, const char *key, const char *value)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	for (const char *p = tmpl; *p != '\0';) {
		if (strncmp(p, key, 2) == 0) {
			fputs(value, f);
			p += 2;
		} else
			fputc(*p++, f);
	}
	fclose(f);
	return out;
}

/* Writes TEXT (%D: tmpdir) and loads it with config_load_checked; expects WANT_ERRORS and
 * WANT_WARNINGS (NULL: none; %F: the file, %D: tmpdir). Returns the config. */
static struct config *
checked(const char *text, const char *want_errors, const char *want_warnings)
{
	char *body = subst(text, "%D", tmpdir), *path, *errors = NULL, *warnings = NULL;
	const char *wants[2] = {want_errors, want_warnings};
	char *gots[2], *w1, *w2;
	struct config *cf;

	path = write_file(body, strlen(body));
	cf = config_load_checked(path, &errors, &warnings);
	gots[0] = errors;
	gots[1] = warnings;
	for (int i = 0; i < 2; i++) {
		if (wants[i] == NULL) {
			ck_assert_msg(gots[i] == NULL, "config:\n%s\nunexpected:\n%s", body,
			              gots[i]);
			continue;
		}
		w1 = subst(wants[i], "%F", path);
		w2 = subst(w1, "%D", tmpdir);
		ck_assert_msg(gots[i] != NULL && strcmp(gots[i], w2) == 0,
		              "config:\n%s\ngot:\n%s\nwant:\n%s", body, gots[i], w2);
		free(w1);
		free(w2);
		free(gots[i]);
	}
	ck_assert_int_eq(cf == NULL, want_errors != NULL);
	free(body);
	free(path);
	return cf;
}

/* Every problem at once: the file's own, the secrets it names, state_dir and the hooks. */
START_TEST(test_checked_all)
{
	char *k;

	k = write_secret("ok-key", "tskey\n", 6);
	ck_assert_int_eq(chmod(k, 0600), 0);
	free(k);
	k = write_secret("not-a-dir", "x", 1);
	free(k);
	unsetenv("CREDENTIALS_DIRECTORY");

	checked("[daemon]\nstate_dir = %D/not-a-dir/state\nlog_levl = debug\n"
	        "[tailnet a]\napi_key_file = %D/ok-key\n"
	        "[tailnet b]\napi_key_file = %D/missing-key\n"
	        "[tailnet c]\noauth_client_id = kX\noauth_client_secret_file =\n"
	        "[hook h]\nexec = %D/no-hook\n"
	        "[netbox]\nurl = https://netbox.example.com\ntoken_file = %D/nb\n"
	        "vrf = a:A\nvrf = b:B\nvrf = c:C\n",
	        "%F:2: state_dir %D/not-a-dir/state cannot be created: %D/not-a-dir is not a "
	        "directory\n"
	        "%F:3: unknown key \"log_levl\" in [daemon] (did you mean log_level?)\n"
	        "%F:6: [tailnet b] api_key_file: cannot open %D/missing-key: No such file or "
	        "directory\n"
	        "%F:10: oauth_client_secret_file: empty value\n"
	        "%F:11: [hook h] exec %D/no-hook: No such file or directory\n"
	        "%F:13: [netbox] token_file: cannot open %D/nb: No such file or directory",
	        NULL);
}
END_TEST

/* state_dir: there and usable, or its parent there to create it in; never created by a check. */
START_TEST(test_checked_state_dir)
{
	static const char *auth = "[tailnet a]\napi_key_file = %D/sd-key\n";
	char *k, *text;
	struct config *cf;
	struct stat st;

	k = write_secret("sd-key", "tskey\n", 6);
	ck_assert_int_eq(chmod(k, 0400), 0);
	free(k);
	unsetenv("CREDENTIALS_DIRECTORY");

	/* Missing, with its parent there: fine, and still missing afterwards. */
	ck_assert_int_ne(asprintf(&text, "[daemon]\nstate_dir = %%D/new-state/\n%s", auth), -1);
	cf = checked(text, NULL, NULL);
	k = subst("%D/new-state/", "%D", tmpdir);
	ck_assert_str_eq(cf->state_dir, k);
	config_free(cf);
	free(text);
	free(k);
	k = subst("%D/new-state", "%D", tmpdir);
	ck_assert_int_eq(stat(k, &st), -1);
	free(k);

	ck_assert_int_ne(asprintf(&text, "[daemon]\nstate_dir = %%D\n%s", auth), -1);
	config_free(checked(text, NULL, NULL));
	free(text);

	ck_assert_int_ne(asprintf(&text, "[daemon]\nstate_dir = %%D/no/such/dir\n%s", auth), -1);
	checked(text,
	        "%F:2: state_dir %D/no/such/dir cannot be created: %D/no/such does not exist "
	        "(tsinvd creates only the last directory)",
	        NULL);
	free(text);

	ck_assert_int_ne(asprintf(&text, "[daemon]\nstate_dir = %%D/sd-key\n%s", auth), -1);
	checked(text, "%F:2: state_dir %D/sd-key: not a directory", NULL);
	free(text);

	/* A bad value is reported once, not checked as the default. */
	ck_assert_int_ne(asprintf(&text, "[daemon]\nstate_dir = relative\n%s", auth), -1);
	checked(text, "%F:2: state_dir: \"relative\" is not an absolute path", NULL);
	free(text);
}
END_TEST

/* A secret readable by group or others: a warning, or an error with strict_permissions. Files
 * from systemd's credentials directory are not judged by their mode. */
START_TEST(test_checked_permissions)
{
	static const char *text = "[daemon]\nstate_dir = %D\n%S"
	                          "[tailnet a]\noauth_client_id = kX\n"
	                          "oauth_client_secret_file = perm-secret\n";
	char *k, *cdir, *t;
	struct config *cf;

	k = write_secret("perm-secret", "tskey\n", 6);
	ck_assert_int_eq(chdir(tmpdir), 0);
	unsetenv("CREDENTIALS_DIRECTORY");

	ck_assert_int_eq(chmod(k, 0600), 0);
	t = subst(text, "%S", "");
	config_free(checked(t, NULL, NULL));

	ck_assert_int_eq(chmod(k, 0640), 0);
	cf = checked(t, NULL,
	             "%F:3: warning: [tailnet a] oauth_client_secret_file: perm-secret is "
	             "readable by group (mode 0640): chmod go-rwx it");
	ck_assert_int_eq(cf->strict_permissions, 0);
	config_free(cf);
	ck_assert_int_eq(chmod(k, 0604), 0);
	config_free(checked(t, NULL,
	                    "%F:3: warning: [tailnet a] oauth_client_secret_file: perm-secret is "
	                    "readable by others (mode 0604): chmod go-rwx it"));
	free(t);

	ck_assert_int_eq(chmod(k, 0644), 0);
	t = subst(text, "%S", "strict_permissions = yes\n");
	checked(t,
	        "%F:4: [tailnet a] oauth_client_secret_file: perm-secret is readable by group and "
	        "others (mode 0644) and strict_permissions = yes: chmod go-rwx it",
	        NULL);

	/* The same name in $CREDENTIALS_DIRECTORY: systemd's copy, whatever its mode. */
	ck_assert_int_ne(asprintf(&cdir, "%s/perm-creds", tmpdir), -1);
	ck_assert_int_eq(mkdir(cdir, 0700), 0);
	free(k);
	k = write_secret("perm-creds/perm-secret", "tskey\n", 6);
	ck_assert_int_eq(chmod(k, 0644), 0);
	setenv("CREDENTIALS_DIRECTORY", cdir, 1);
	cf = checked(t, NULL, NULL);
	ck_assert_int_eq(cf->strict_permissions, 1);
	config_free(cf);
	unsetenv("CREDENTIALS_DIRECTORY");
	free(t);
	free(cdir);
	free(k);
}
END_TEST

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("load");
	tcase_add_loop_test(tc, test_bad, 0, sizeof bad / sizeof bad[0]);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_expiry_presence);
	tcase_add_test(tc, test_netbox);
	tcase_add_test(tc, test_full_fixture);
	tcase_add_test(tc, test_errors_fixture);
	tcase_add_test(tc, test_example_conf);
	tcase_add_test(tc, test_hooks);
	tcase_add_test(tc, test_check_hooks);
	tcase_add_test(tc, test_syntax_variants);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_too_many_errors);
	tcase_add_test(tc, test_endpoints);
	tcase_add_test(tc, test_endpoint_rows);
	tcase_add_test(tc, test_audit_keys);
	tcase_add_test(tc, test_posture_keys);
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_checked_all);
	tcase_add_test(tc, test_checked_state_dir);
	tcase_add_test(tc, test_checked_permissions);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_loop_test(tc, test_parse_size, 0, sizeof sizes / sizeof sizes[0]);
	tcase_add_loop_test(tc, test_url_allowed, 0, sizeof urls / sizeof urls[0]);
	tcase_add_test(tc, test_read_secret);
	tcase_add_test(tc, test_read_secret_errors);
	tcase_add_test(tc, test_read_secret_credentials);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
