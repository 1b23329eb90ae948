/* checks-cache.c: policy revisions parsed once: a revision's text never changes (the store keeps
 * it by its sha256), and parsing a 1 MB policy file costs more than all the checks together. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "checks-int.h"
#include "hujson.h"
#include "policy.h"

/* Summaries are small: many revisions keep theirs. Parsed files are big (tens of MB for a 1 MB
 * file): only the few in force (one per tailnet) keep theirs. */
#define CACHE_ENTRIES 256
#define CACHE_PARSED 4

struct cache_entry {
	char sha[65];    /* "" when unused */
	json_t *policy;  /* the parsed file, or NULL (not kept, or the text does not parse) */
	json_t *rules;   /* policy_rules(policy), made on first use, or NULL */
	json_t *summary; /* policy_summary of the text, or NULL */
	bool bad;        /* the text does not parse */
	bool summarised; /* summary (or bad) is known */
	unsigned long used;
};

static struct cache_entry cache[CACHE_ENTRIES];
static unsigned long cache_clock;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static bool
cache_key_ok(const char *sha)
{
	return sha != NULL && *sha != '\0' && strlen(sha) < sizeof cache[0].sha;
}

/* The entry of sha, or a new one in place of the least recently used. Under the lock. */
static struct cache_entry *
cache_entry(const char *sha)
{
	struct cache_entry *e, *old = &cache[0];

	for (e = cache; e < cache + CACHE_ENTRIES; e++) {
		if (strcmp(e->sha, sha) == 0) {
			e->used = ++cache_clock;
			return e;
		}
		if (e->used < old->used)
			old = e;
	}
	json_decref(old->policy);
	json_decref(old->rules);
	json_decref(old->summary);
	memset(old, 0, sizeof(*old));
	strcpy(old->sha, sha);
	old->used = ++cache_clock;
	return old;
}

/* Keeps e's parsed file; the least recently used of the others beyond CACHE_PARSED drop theirs.
 * Under the lock. */
static void
cache_keep_parsed(struct cache_entry *keep, json_t *policy)
{
	struct cache_entry *e, *old;
	size_t n;

	keep->policy = json_incref(policy);
	for (;;) {
		old = NULL;
		n = 0;
		for (e = cache; e < cache + CACHE_ENTRIES; e++) {
			if (e->policy == NULL)
				continue;
			n++;
			if (e != keep && (old == NULL || e->used < old->used))
				old = e;
		}
		if (n <= CACHE_PARSED || old == NULL)
			return;
		json_decref(old->policy);
		json_decref(old->rules);
		old->policy = old->rules = NULL;
	}
}

json_t *
checks_policy_parse(const char *sha, const char *text, size_t len)
{
	struct hujson_error err;
	struct cache_entry *e;
	json_t *p;

	if (!cache_key_ok(sha))
		return hujson_parse(text, len, &err);
	pthread_mutex_lock(&cache_lock);
	e = cache_entry(sha);
	if (e->policy != NULL || e->bad) {
		p = json_incref(e->policy);
		pthread_mutex_unlock(&cache_lock);
		return p;
	}
	pthread_mutex_unlock(&cache_lock);
	/* Parsed outside the lock: another thread may do the same; the first to return wins. */
	p = hujson_parse(text, len, &err);
	pthread_mutex_lock(&cache_lock);
	e = cache_entry(sha);
	if (e->policy != NULL) {
		json_decref(p);
		p = json_incref(e->policy);
	} else if (p == NULL) {
		e->bad = e->summarised = true;
	} else {
		cache_keep_parsed(e, p);
	}
	pthread_mutex_unlock(&cache_lock);
	return p;
}

json_t *
check_cache_rules(const char *sha, json_t *policy)
{
	struct cache_entry *e;
	json_t *r;

	if (!cache_key_ok(sha))
		return policy_rules(policy);
	pthread_mutex_lock(&cache_lock);
	e = cache_entry(sha);
	if (e->policy != policy) {
		/* Not the cache's copy: the caller's may differ from what the sha names. */
		pthread_mutex_unlock(&cache_lock);
		return policy_rules(policy);
	}
	if (e->rules == NULL)
		e->rules = policy_rules(policy);
	r = json_incref(e->rules);
	pthread_mutex_unlock(&cache_lock);
	return r;
}

json_t *
check_cache_summary(const char *sha, const char *text, json_t *policy)
{
	struct hujson_error err;
	struct cache_entry *e;
	json_t *s = NULL, *p;

	if (cache_key_ok(sha)) {
		pthread_mutex_lock(&cache_lock);
		e = cache_entry(sha);
		if (e->summarised) {
			s = json_incref(e->summary);
			pthread_mutex_unlock(&cache_lock);
			return s;
		}
		pthread_mutex_unlock(&cache_lock);
	}
	if (policy != NULL)
		p = json_incref(policy);
	else
		p = text != NULL ? hujson_parse(text, strlen(text), &err) : NULL;
	s = p != NULL ? policy_summary(p) : NULL;
	json_decref(p);
	if (!cache_key_ok(sha) || (p == NULL && text == NULL))
		return s;
	pthread_mutex_lock(&cache_lock);
	e = cache_entry(sha);
	if (!e->summarised) {
		e->summary = json_incref(s);
		e->bad = s == NULL;
		e->summarised = true;
	}
	pthread_mutex_unlock(&cache_lock);
	return s;
}

void
checks_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	for (struct cache_entry *e = cache; e < cache + CACHE_ENTRIES; e++) {
		json_decref(e->policy);
		json_decref(e->rules);
		json_decref(e->summary);
		memset(e, 0, sizeof(*e));
	}
	pthread_mutex_unlock(&cache_lock);
}
