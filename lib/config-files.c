/* config-files.c: what a configuration names outside itself: secret files (read, and their
 * modes judged), state_dir, hooks' programs; and the words that name them (sizes, URLs). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-int.h"
#include "config.h"
#include "log.h"
#include "sbuf.h"

/* Why EXEC cannot be run as a hook, or NULL. */
static const char *
config_exec_problem(const char *exec)
{
	struct stat st;

	if (stat(exec, &st) != 0)
		return strerror(errno);
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (access(exec, X_OK) != 0)
		return "not executable";
	return NULL;
}

int
config_check_hooks(const struct config *cf, char **errors)
{
	const struct config_hook *hk;
	struct sbuf sb;
	const char *why;
	size_t i;

	sbuf_init(&sb);
	for (i = 0; i < cf->nhooks; i++) {
		hk = &cf->hooks[i];
		if ((why = config_exec_problem(hk->exec)) == NULL)
			continue;
		if (sb.len > 0)
			sbuf_addc(&sb, '\n');
		sbuf_addf(&sb, "%s:%d: [hook %s] exec %s: %s", cf->path, hk->line, hk->name,
		          hk->exec, why);
	}
	if (sb.len == 0) {
		sbuf_free(&sb);
		return 0;
	}
	*errors = sbuf_steal(&sb);
	return -1;
}

/* config_read_secret, and how the file was found: its mode, and whether it came from
 * $CREDENTIALS_DIRECTORY. */
static int
config_secret_read(const char *path, char **out, mode_t *mode, int *credential, char **cause)
{
	const char *cdir = getenv("CREDENTIALS_DIRECTORY");
	char *full = NULL, *buf;
	const char *used = path;
	struct stat st;
	size_t len = 0, i;
	ssize_t n;
	int fd = -1;

	if (path == NULL || *path == '\0') {
		*cause = xasprintf("no secret file given");
		return -1;
	}
	/* systemd's LoadCredential= puts secrets there, under the name given in the unit. */
	if (path[0] != '/' && cdir != NULL && *cdir != '\0') {
		full = xasprintf("%s/%s", cdir, path);
		if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY)) >= 0)
			used = full;
		else if (errno != ENOENT) {
			*cause = xasprintf("cannot open %s: %s", full, strerror(errno));
			free(full);
			return -1;
		}
	}
	if (fd < 0 && (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (full != NULL)
			*cause =
			    xasprintf("cannot open %s (nor %s): %s", path, full, strerror(errno));
		else
			*cause = xasprintf("cannot open %s: %s", path, strerror(errno));
		free(full);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*cause = xasprintf("%s: not a regular file", used);
		goto fail;
	}
	*mode = st.st_mode;
	*credential = used == full;
	buf = xmalloc(CONFIG_SECRETMAX + 1);
	while (len <= CONFIG_SECRETMAX) {
		n = read(fd, buf + len, CONFIG_SECRETMAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*cause = xasprintf("cannot read %s: %s", used, strerror(errno));
			goto failbuf;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_SECRETMAX) {
		*cause = xasprintf("%s: larger than %d bytes", used, CONFIG_SECRETMAX);
		goto failbuf;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0) {
		*cause = xasprintf("%s: empty", used);
		goto failbuf;
	}
	/* It goes into HTTP headers and forms: one line of printable text. */
	for (i = 0; i < len; i++) {
		if ((unsigned char)buf[i] < ' ' || buf[i] == 0x7f) {
			*cause = xasprintf("%s: not one line of text", used);
			goto failbuf;
		}
	}
	*out = xmalloc(len + 1);
	memcpy(*out, buf, len);
	(*out)[len] = '\0';
	explicit_bzero(buf, CONFIG_SECRETMAX + 1);
	free(buf);
	close(fd);
	free(full);
	return 0;

failbuf:
	explicit_bzero(buf, CONFIG_SECRETMAX + 1);
	free(buf);
fail:
	close(fd);
	free(full);
	return -1;
}

int
config_read_secret(const char *path, char **out, char **cause)
{
	mode_t mode;
	int credential;

	return config_secret_read(path, out, &mode, &credential, cause);
}

int
config_parse_size(const char *s, size_t *out)
{
	static const char units[] = "kmgt"; /* binary multiples: 2^10, 2^20, 2^30, 2^40 */
	const char *u;
	uint64_t v = 0;
	size_t ndig;
	int shift = 0;

	if (s == NULL || (ndig = strspn(s, "0123456789")) == 0)
		return -1;
	for (u = s; u < s + ndig; u++) {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *u - '0', &v))
			return -1;
	}
	if (*u != '\0') {
		const char *c =
		    *u >= 'A' && *u <= 'Z' ? strchr(units, *u - 'A' + 'a') : strchr(units, *u);

		if (c == NULL || *c == '\0' || u[1] != '\0')
			return -1;
		shift = 10 * (int)(c - units + 1);
	}
	if (v > (uint64_t)SIZE_MAX >> shift)
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

/* True for a loopback host: 127.0.0.0/8, localhost, ::1 (written bracketed in a URL). */
static int
config_host_loopback(const char *host, size_t len, int bracketed)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;

	if (len == 0 || len >= sizeof buf)
		return 0;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (bracketed)
		return inet_pton(AF_INET6, buf, &a6) == 1 &&
		       memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
	if (strcasecmp(buf, "localhost") == 0)
		return 1;
	return inet_pton(AF_INET, buf, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

int
config_url_allowed(const char *url)
{
	const char *auth, *end, *host, *hend, *p;
	int secure, bracketed = 0;
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	long port;

	if (url == NULL || !config_printable(url) || strpbrk(url, "?#") != NULL)
		return 0;
	if (strncasecmp(url, "https://", 8) == 0) {
		secure = 1;
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		secure = 0;
		auth = url + 7;
	} else
		return 0;
	end = auth + strcspn(auth, "/");
	/* Credentials in the URL would end up in logs and error messages. */
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return 0;
	if (*auth == '[') {
		host = auth + 1;
		if ((hend = memchr(host, ']', (size_t)(end - host))) == NULL)
			return 0;
		bracketed = 1;
		p = hend + 1;
	} else {
		host = auth;
		if ((hend = memchr(host, ':', (size_t)(end - host))) == NULL)
			hend = end;
		p = hend;
	}
	if (hend == host)
		return 0;
	if (p < end) {
		if (*p != ':' || end - p < 2 || end - p > 6 ||
		    strspn(p + 1, "0123456789") < (size_t)(end - p - 1))
			return 0;
		port = strtol(p + 1, NULL, 10);
		if (port < 1 || port > 65535)
			return 0;
	}
	if (!secure)
		return config_host_loopback(host, (size_t)(hend - host), bracketed);
	if (bracketed) {
		if ((size_t)(hend - host) >= sizeof buf)
			return 0;
		memcpy(buf, host, (size_t)(hend - host));
		buf[hend - host] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1;
	}
	return strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") >=
	       (size_t)(hend - host);
}

void
config_warn_add(struct config_parse *ps, int line, const char *fmt, ...)
{
	va_list ap;

	if (ps->warns.len > 0)
		sbuf_addc(&ps->warns, '\n');
	if (line > 0)
		sbuf_addf(&ps->warns, "%s:%d: warning: ", ps->cf->path, line);
	else
		sbuf_addf(&ps->warns, "%s: warning: ", ps->cf->path);
	va_start(ap, fmt);
	sbuf_vaddf(&ps->warns, fmt, ap);
	va_end(ap);
}

/* One secret file: it can be read, and by nobody but its owner. systemd's credentials directory
 * is private to the service, so only a file read directly has its mode checked. */
static void
config_check_secret(struct config_parse *ps, int line, const char *what, const char *path)
{
	char *secret = NULL, *cause = NULL;
	const char *who;
	mode_t mode = 0;
	int credential = 0;

	if (path == NULL) /* not given, or given badly: reported already */
		return;
	if (config_secret_read(path, &secret, &mode, &credential, &cause) == -1) {
		config_err(ps, line, "%s: %s", what, cause);
		free(cause);
		return;
	}
	explicit_bzero(secret, strlen(secret));
	free(secret);
	if (credential || (mode & (S_IRGRP | S_IROTH)) == 0)
		return;
	who = (mode & S_IRGRP) && (mode & S_IROTH) ? "group and others"
	      : (mode & S_IRGRP)                   ? "group"
	                                           : "others";
	if (ps->cf->strict_permissions)
		config_err(ps, line,
		           "%s: %s is readable by %s (mode %04o) and strict_permissions = yes: "
		           "chmod go-rwx it",
		           what, path, who, (unsigned)(mode & 07777));
	else
		config_warn_add(ps, line, "%s: %s is readable by %s (mode %04o): chmod go-rwx it",
		                what, path, who, (unsigned)(mode & 07777));
}

/* state_dir must exist, or be creatable: the store makes only its last component. */
static void
config_check_state_dir(struct config_parse *ps)
{
	const char *dir = ps->cf->state_dir, *why = NULL;
	char *parent, *slash;
	struct stat st;
	int line = ps->state_dir_line;

	if (line < 0) /* a bad value, reported already */
		return;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			why = "not a directory";
		else if (access(dir, R_OK | W_OK | X_OK) != 0)
			why = strerror(errno);
		if (why != NULL)
			config_err(ps, line, "state_dir %s: %s", dir, why);
		return;
	}
	if (errno != ENOENT && errno != ENOTDIR) {
		config_err(ps, line, "state_dir %s: %s", dir, strerror(errno));
		return;
	}
	parent = xstrdup(dir);
	for (slash = parent + strlen(parent); slash > parent && slash[-1] == '/'; slash--)
		slash[-1] = '\0';
	if ((slash = strrchr(parent, '/')) == parent)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	if (stat(parent, &st) != 0)
		why = errno == ENOENT ? "does not exist (tsinvd creates only the last directory)"
		                      : strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "is not a directory";
	else if (access(parent, W_OK | X_OK) != 0)
		why = strerror(errno);
	if (why != NULL)
		config_err(ps, line, "state_dir %s cannot be created: %s %s", dir, parent, why);
	free(parent);
}

void
config_check_files(struct config_parse *ps)
{
	const struct config *cf = ps->cf;
	char what[CONFIG_NAMEMAX + 64];
	const char *why;
	size_t i;

	/* Read-only: nothing is polled or run, so no secret or hook needs to be there. */
	if (cf->read_only) {
		config_check_state_dir(ps);
		return;
	}
	for (i = 0; i < cf->ntailnets; i++) {
		const struct config_tailnet *tn = &cf->tailnets[i];

		snprintf(what, sizeof what, "[tailnet %s] api_key_file", tn->name);
		config_check_secret(ps, tn->line, what, tn->api_key_file);
		snprintf(what, sizeof what, "[tailnet %s] oauth_client_secret_file", tn->name);
		config_check_secret(ps, tn->line, what, tn->oauth_client_secret_file);
	}
	if (cf->netbox.url != NULL)
		config_check_secret(ps, cf->netbox.line, "[netbox] token_file",
		                    cf->netbox.token_file);
	config_check_state_dir(ps);
	for (i = 0; i < cf->nhooks; i++) {
		const struct config_hook *hk = &cf->hooks[i];

		if (hk->exec != NULL && (why = config_exec_problem(hk->exec)) != NULL)
			config_err(ps, hk->line, "[hook %s] exec %s: %s", hk->name, hk->exec, why);
	}
}
