/* listing.c: a listing's reply read as it arrives, the elements of its array one at a time,
 * never as one tree of the whole reply (10k devices make 15 MB of JSON). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "client.h"

#define LISTING_MAX_LINE ((size_t)1 << 30) /* as conn.c's TSINVCTL_MAX_REPLY */
#define LISTING_READ (256 * 1024)          /* bytes asked of each recv() */
#define LISTING_MAX_DEPTH 2048             /* jansson's own limit */

/* The reply line as far as it has arrived: BUF holds the bytes from POS on that are not parsed
 * yet (the rest was dropped). */
struct listing_in {
	int fd;
	int64_t deadline, timeout;
	char *buf;
	size_t cap, have; /* size, bytes in it */
	size_t pos;       /* the next byte to parse */
	size_t lim;       /* the end of what may be parsed: the newline once it came, else have */
	size_t total;     /* bytes received before buf[0] */
	int eol;          /* the newline has come: lim is the line's end */
};

static int
listing_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The bytes that end a run of plain string bytes: the quote, a backslash, a control byte. */
static const unsigned char listing_stop[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

/* The first byte at or after S before E that ends a run of plain string bytes, or E. Strings
 * are most of a listing's bytes: SSE2 looks at 16 of them a step. */
static const char *
listing_string_run(const char *s, const char *e)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f), flip = _mm_set1_epi8((char)0x80);

	while (e - s >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
		/* Unsigned v <= 0x1f as a signed compare of both shifted by 0x80. */
		__m128i low = _mm_cmpgt_epi8(_mm_xor_si128(ctl, flip), _mm_xor_si128(v, flip));
		__m128i low2 = _mm_cmpeq_epi8(v, ctl);
		int m = _mm_movemask_epi8(
		    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
		                 _mm_or_si128(low, low2)));

		if (m != 0)
			return s + __builtin_ctz((unsigned)m);
		s += 16;
	}
#endif
	while (s < e && !listing_stop[(unsigned char)*s])
		s++;
	return s;
}

int
listing_value_end(const char *p, const char *e, const char **next)
{
	char stack[LISTING_MAX_DEPTH];
	size_t depth = 0;
	const char *s;

	if (p == e)
		return 0;
	for (;;) {
		if (p == e)
			return 0;
		switch (*p) {
		case '"':
			for (s = p + 1;; s++) {
				s = listing_string_run(s, e);
				if (s == e)
					return 0;
				if (*s == '"')
					break;
				if ((unsigned char)*s < 0x20)
					return -1;
				if (++s == e) /* the escaped byte */
					return 0;
				if ((unsigned char)*s < 0x20)
					return -1;
			}
			p = s + 1;
			break;
		case '{':
		case '[':
			if (depth == sizeof stack)
				return -1;
			stack[depth++] = *p == '{' ? '}' : ']';
			p++;
			continue;
		case '}':
		case ']':
			if (depth == 0 || stack[depth - 1] != *p)
				return -1;
			depth--;
			p++;
			break;
		case ',':
		case ':':
		case ' ':
		case '\t':
		case '\r':
			if (depth == 0)
				return -1;
			p++;
			continue;
		default:
			/* A number or a literal: checked by whoever decodes it. */
			s = p;
			while (s < e && ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
			                 *s == '-' || *s == '+' || *s == '.' || *s == 'E'))
				s++;
			if (s == p)
				return -1;
			if (s == e && depth == 0)
				return 0; /* the number may go on */
			p = s;
			break;
		}
		if (depth == 0) {
			*next = p;
			return 1;
		}
	}
}

/* Skips white space within [*P, E). */
static void
listing_ws(const char **p, const char *e)
{
	while (*p < e && listing_is_ws(**p))
		(*p)++;
}

/* Whether [P, P+N) is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
 * as jansson requires of every string it decodes. */
static int
listing_utf8(const unsigned char *p, size_t n)
{
	const unsigned char *e = p + n;

	while (p < e) {
		unsigned c = *p++;
		size_t k;
		unsigned cp, min;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if ((size_t)(e - p) < k)
			return 0;
		for (; k > 0; k--, p++) {
			if ((*p & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (*p & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	return 1;
}

char *
listing_str(struct lspan v)
{
	json_t *j;
	char *s;

	if (v.len < 2 || v.p[0] != '"' || v.p[v.len - 1] != '"')
		return NULL;
	if (memchr(v.p, '\\', v.len) == NULL) {
		if (!listing_utf8((const unsigned char *)v.p + 1, v.len - 2))
			return NULL;
		s = xmalloc(v.len - 1);
		memcpy(s, v.p + 1, v.len - 2);
		s[v.len - 2] = '\0';
		return s;
	}
	/* Escapes are rare: jansson decodes them as it would have. */
	if ((j = json_loadb(v.p, v.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)) == NULL)
		return NULL;
	s = json_is_string(j) ? xstrdup(json_string_value(j)) : NULL;
	json_decref(j);
	return s;
}

int
listing_bool(struct lspan v)
{
	if (v.len == 4 && memcmp(v.p, "true", 4) == 0)
		return 1;
	if (v.len == 5 && memcmp(v.p, "false", 5) == 0)
		return 0;
	return -1;
}

/* A key (a JSON string) at *P: its bytes without quotes in *K, *KLEN (escapes left as they are:
 * they never match a name we look for), *P moved past the colon after it. 1, 0 (more bytes
 * needed) or -1. */
static int
listing_key(const char **p, const char *e, const char **k, size_t *klen)
{
	const char *s = *p, *end;
	int rc;

	if (s == e)
		return 0;
	if (*s != '"')
		return -1;
	if ((rc = listing_value_end(s, e, &end)) != 1)
		return rc;
	*k = s + 1;
	*klen = (size_t)(end - s) - 2;
	listing_ws(&end, e);
	if (end == e)
		return 0;
	if (*end != ':')
		return -1;
	end++;
	listing_ws(&end, e);
	if (end == e)
		return 0;
	*p = end;
	return 1;
}

static int
listing_key_is(const char *k, size_t klen, const char *name)
{
	return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

int
listing_members(struct lspan obj, const char *const *names, size_t n, struct lspan *out)
{
	const char *p = obj.p, *e = obj.p + obj.len, *k, *end;
	size_t klen, i, nlen[32];

	if (n > 32)
		fatalx("listing_members: more than 32 names");
	for (i = 0; i < n; i++) {
		out[i] = (struct lspan){NULL, 0};
		nlen[i] = strlen(names[i]);
	}
	if (obj.len < 2 || *p != '{')
		return -1;
	p++;
	listing_ws(&p, e);
	if (p < e && *p == '}')
		return 0;
	for (;;) {
		if (listing_key(&p, e, &k, &klen) != 1 || listing_value_end(p, e, &end) != 1)
			return -1;
		for (i = 0; i < n; i++)
			if (nlen[i] == klen && memcmp(k, names[i], klen) == 0)
				out[i] = (struct lspan){p, (size_t)(end - p)};
		p = end;
		listing_ws(&p, e);
		if (p == e)
			return -1;
		if (*p == '}')
			return 0;
		if (*p++ != ',')
			return -1;
		listing_ws(&p, e);
	}
}

int
listing_next(struct lspan *arr, struct lspan *elem)
{
	const char *p = arr->p, *e = arr->p + arr->len, *end;

	/* ARR is what is left: "[" or "," before the next element, or the closing "]". */
	if (arr->len < 2 || (*p != '[' && *p != ','))
		return 0;
	p++;
	listing_ws(&p, e);
	if (p == e || *p == ']' || listing_value_end(p, e, &end) != 1)
		return 0;
	*elem = (struct lspan){p, (size_t)(end - p)};
	listing_ws(&end, e);
	arr->p = end;
	arr->len = (size_t)(e - end);
	return 1;
}

char *
listing_join(struct lspan arr, const char *sep)
{
	struct sbuf sb = {0};
	struct lspan v;
	char *s;

	while (listing_next(&arr, &v)) {
		if ((s = listing_str(v)) == NULL)
			continue;
		if (sb.len > 0)
			sbuf_adds(&sb, sep);
		sbuf_adds(&sb, s);
		free(s);
	}
	if (sb.len == 0) {
		sbuf_free(&sb);
		return NULL;
	}
	return sbuf_steal(&sb);
}

/* Reads more of the line: at least WANT more bytes unless the newline comes first. 0, or an
 * exit code after saying why. */
static int
listing_read(struct listing_in *in, size_t want)
{
	size_t got = 0;
	char *nl;
	ssize_t n;

	if (in->pos > 0) {
		memmove(in->buf, in->buf + in->pos, in->have - in->pos);
		in->total += in->pos;
		in->have -= in->pos;
		in->lim -= in->pos;
		in->pos = 0;
	}
	while (got < want && !in->eol) {
		if (in->total + in->have > LISTING_MAX_LINE)
			return conn_fail(TSINVCTL_EXIT_ERROR, "bad_reply",
			                 "the reply is longer than %zu GiB",
			                 LISTING_MAX_LINE >> 30);
		if (in->cap - in->have < LISTING_READ) {
			/* Streamed, what is kept is at most a step's bytes; whole, it doubles. */
			in->cap = in->have + (in->have > LISTING_READ ? in->have : LISTING_READ);
			in->buf = xrealloc(in->buf, in->cap);
		}
		n = recv(in->fd, in->buf + in->have, in->cap - in->have, 0);
		if (n > 0) {
			if ((nl = memchr(in->buf + in->have, '\n', (size_t)n)) != NULL) {
				in->eol = 1;
				in->lim = (size_t)(nl - in->buf);
			} else
				in->lim = in->have + (size_t)n;
			in->have += (size_t)n;
			got += (size_t)n;
		} else if (n == 0) {
			return conn_fail(
			    TSINVCTL_EXIT_UNREACHABLE, NULL,
			    "%s: the daemon closed the connection %s", client_opts.socket,
			    in->total + in->have == 0 ? "without a reply" : "in mid-reply");
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pfd = {.fd = in->fd, .events = POLLIN};
			int64_t left = in->deadline - conn_mono();

			if (left <= 0)
				return conn_timed_out(in->timeout);
			left = (left + 999) / 1000;
			if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) == -1 &&
			    errno != EINTR)
				return conn_timed_out(in->timeout);
		} else if (errno != EINTR) {
			return conn_fail(TSINVCTL_EXIT_UNREACHABLE, NULL, "%s: %s",
			                 client_opts.socket, strerror(errno));
		}
	}
	return 0;
}

/* Where the walk over the reply stands: between the steps of listing_step. */
enum listing_state {
	LS_OPEN,      /* before the reply's "{" */
	LS_ENV,       /* before a member of the reply (or its "}" when FIRST) */
	LS_ENV_NEXT,  /* after one: "," or "}" */
	LS_RES,       /* before a member of the result */
	LS_RES_NEXT,  /* after one */
	LS_ELEM,      /* before an element of the list (or "]" when FIRST) */
	LS_ELEM_NEXT, /* after one */
	LS_END,       /* after the reply's "}" */
};

struct listing_walk {
	struct listing *l;
	enum listing_state st;
	int first;
	int ok;      /* "ok":true came before "result": the result can be walked as it comes */
	int idok;    /* and our id */
	json_t *env; /* the reply's members but a walked result */
	int stop;    /* the element callback said stop: its exit code */
	int begun;   /* the list was found in the result as it came */
};

/* A complete value at P as JSON (a new reference), or NULL. */
static json_t *
listing_load(const char *p, size_t len)
{
	return json_loadb(p, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

/* One step of the walk over [*P, E): 1 done (the walk moved on), 0 more bytes needed, -1
 * malformed. */
static int
listing_step(struct listing_walk *w, const char **pp, const char *e)
{
	const char *p = *pp, *k, *end;
	struct listing *l = w->l;
	size_t klen;
	json_t *v;
	int rc;

	listing_ws(&p, e);
	*pp = p;
	if (p == e)
		return 0;
	switch (w->st) {
	case LS_OPEN:
		if (*p != '{')
			return -1;
		p++;
		w->st = LS_ENV;
		w->first = 1;
		break;
	case LS_ENV:
	case LS_RES:
		if (w->first && *p == '}') {
			p++;
			w->st = w->st == LS_ENV ? LS_END : LS_ENV_NEXT;
			break;
		}
		if ((rc = listing_key(&p, e, &k, &klen)) != 1)
			return rc;
		if (w->st == LS_ENV && w->ok && w->idok && *p == '{' &&
		    listing_key_is(k, klen, "result") && l->result == NULL) {
			l->result = json_object();
			p++;
			w->st = LS_RES;
			w->first = 1;
			break;
		}
		if (w->st == LS_RES && *p == '[' && listing_key_is(k, klen, l->list)) {
			/* Its place among the members, for whoever prints them in order. */
			json_object_set_new(l->result, l->list, json_array());
			l->nbefore = json_object_size(l->result) - 1;
			w->begun = 1;
			if (l->begin != NULL && (w->stop = l->begin(l->arg, l->result)) != 0)
				return -2;
			p++;
			w->st = LS_ELEM;
			w->first = 1;
			break;
		}
		if ((rc = listing_value_end(p, e, &end)) != 1)
			return rc;
		if ((v = listing_load(p, (size_t)(end - p))) == NULL)
			return -1;
		{
			char *key = xmalloc(klen + 1);

			memcpy(key, k, klen);
			key[klen] = '\0';
			if (memchr(k, '\\', klen) != NULL) {
				/* An escaped key: decoded as jansson would. */
				json_t *jk = listing_load(k - 1, klen + 2);

				free(key);
				key = xstrdup(json_is_string(jk) ? json_string_value(jk) : "");
				json_decref(jk);
			}
			if (w->st == LS_ENV && strcmp(key, "ok") == 0)
				w->ok = json_is_true(v);
			if (w->st == LS_ENV && strcmp(key, "id") == 0)
				w->idok =
				    json_is_integer(v) && json_integer_value(v) == TSINVCTL_REQ_ID;
			json_object_set_new(w->st == LS_ENV ? w->env : l->result, key, v);
			free(key);
		}
		p = end;
		w->st = w->st == LS_ENV ? LS_ENV_NEXT : LS_RES_NEXT;
		break;
	case LS_ENV_NEXT:
	case LS_RES_NEXT:
	case LS_ELEM_NEXT:
		if (*p == ',') {
			w->st = w->st == LS_ENV_NEXT   ? LS_ENV
			        : w->st == LS_RES_NEXT ? LS_RES
			                               : LS_ELEM;
			w->first = 0;
		} else if (*p == (w->st == LS_ELEM_NEXT ? ']' : '}'))
			w->st = w->st == LS_ENV_NEXT   ? LS_END
			        : w->st == LS_RES_NEXT ? LS_ENV_NEXT
			                               : LS_RES_NEXT;
		else
			return -1;
		p++;
		break;
	case LS_ELEM:
		if (w->first && *p == ']') {
			p++;
			w->st = LS_RES_NEXT;
			break;
		}
		if ((rc = listing_value_end(p, e, &end)) != 1)
			return rc;
		l->count++;
		if ((w->stop = l->element(l->arg, p, (size_t)(end - p))) != 0)
			return -2;
		p = end;
		w->st = LS_ELEM_NEXT;
		break;
	case LS_END:
		return -1; /* something after the reply's end */
	}
	*pp = p;
	return 1;
}

/* A result that was not walked ("ok" came after it): its list handed out from the tree. */
static int
listing_unwalked(struct listing *l)
{
	json_t *list = json_incref(json_object_get(l->result, l->list)), *v;
	const char *key;
	size_t i;
	char *text;
	int rc = 0;

	if (!json_is_array(list)) {
		json_decref(list);
		return 0;
	}
	l->nbefore = 0;
	json_object_foreach(l->result, key, v)
	{
		if (strcmp(key, l->list) == 0)
			break;
		l->nbefore++;
	}
	json_object_set_new(l->result, l->list, json_array());
	if (l->begin != NULL)
		rc = l->begin(l->arg, l->result);
	json_array_foreach(list, i, v)
	{
		if (rc != 0)
			break;
		if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			fatalx("cannot serialise an element");
		l->count++;
		rc = l->element(l->arg, text, strlen(text));
		free(text);
	}
	json_decref(list);
	return rc;
}

/* Walks the reply line on IN to its end; then checks it as conn_reply does. */
static int
listing_walk(struct listing_in *in, struct listing *l)
{
	struct listing_walk w = {.l = l, .st = LS_OPEN, .env = json_object()};
	size_t want = LISTING_READ;
	json_t *result = NULL;
	const char *p;
	int rc;

	for (;;) {
		p = in->buf + in->pos;
		rc = listing_step(&w, &p, in->buf + in->lim);
		in->pos = (size_t)(p - in->buf);
		if (rc == 1) {
			want = LISTING_READ;
			continue;
		}
		if (rc == -2) {
			rc = w.stop;
			goto out;
		}
		/* Only white space after the reply, and the newline: the reply is whole. */
		if (rc == 0 && w.st == LS_END && in->eol)
			break;
		if (rc == -1 || in->eol) {
			rc = conn_bad_reply(rc == -1 ? "not the JSON of a reply"
			                             : "the reply ends early");
			goto out;
		}
		/* One step (an element, a member) waits for more: at least as much again, so that a
		 * big one is not scanned again for every few bytes. */
		if ((rc = listing_read(in, want)) != 0)
			goto out;
		want = in->lim - in->pos > LISTING_READ ? in->lim - in->pos : LISTING_READ;
	}
	if (l->result != NULL)
		json_object_set(w.env, "result", l->result);
	json_decref(l->result);
	l->result = NULL;
	/* The same checks and error output as any reply. */
	rc = conn_reply_json(json_incref(w.env), &result);
	l->result = result;
	if (rc == 0 && !w.begun)
		rc = listing_unwalked(l);
out:
	json_decref(w.env);
	return rc;
}

int
listing_fetch(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args,
              struct listing *l)
{
	struct listing_in in = {0};
	char *text;
	size_t len;
	int fd, rc;

	l->result = NULL;
	l->count = 0;
	if ((rc = conn_request(cmd, a, args, &text, &len)) != 0)
		return rc;
	in.timeout = client_opts.timeout;
	if (in.timeout == 0)
		in.timeout = (cmd->flags & CMD_F_SLOW) ? TSINVCTL_SLOW_TIMEOUT : TSINVCTL_TIMEOUT;
	in.deadline = conn_mono() + in.timeout;
	if ((rc = conn_connect(in.timeout, &fd)) != 0) {
		free(text);
		return rc;
	}
	in.fd = fd;
	rc = conn_send(fd, text, len, in.deadline, in.timeout);
	free(text);
	if (rc == 0 && l->whole) {
		/* Nothing is handed out before the whole reply is in: a reply cut short prints
		 * nothing. */
		while (rc == 0 && !in.eol)
			rc = listing_read(&in, SIZE_MAX);
	}
	if (rc == 0)
		rc = listing_walk(&in, l);
	if (rc != 0) {
		json_decref(l->result);
		l->result = NULL;
	}
	free(in.buf);
	close(fd);
	return rc;
}
