/* event-type.c: the event types table, and the globs hooks, followers and filters match them by. */
#include <fnmatch.h>
#include <string.h>

#include "event-type.h"

/* Every event tsinv records; the client's help and the documentation list this table. */
const struct event_type event_types[EVENT_T__COUNT] = {
#define EVENT_TYPE(sym, name, kind, off, trigger) [EVENT_T_##sym] = {name, kind, trigger, off},
#include "event-list.h"
#undef EVENT_TYPE
};
const size_t event_ntypes = sizeof(event_types) / sizeof(event_types[0]);

const struct event_type *
event_type_find(const char *name)
{
	for (size_t i = 0; i < event_ntypes; i++)
		if (strcmp(event_types[i].name, name) == 0)
			return &event_types[i];
	return NULL;
}

int
event_match(const char *glob, const char *type)
{
	const struct event_type *et = event_type_find(type);

	if (et != NULL && et->off)
		return strcmp(glob, type) == 0;
	return fnmatch(glob, type, 0) == 0;
}

int
event_glob_next(const char **p, char *buf, size_t size)
{
	size_t n;

	*p += strspn(*p, " \t");
	if ((n = strcspn(*p, " \t")) == 0)
		return 0;
	if (n >= size) {
		*p += n;
		return -1;
	}
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p += n;
	return 1;
}

int
event_glob_known(const char *glob)
{
	for (size_t i = 0; i < event_ntypes; i++)
		if (event_match(glob, event_types[i].name))
			return 1;
	return 0;
}

int
event_match_list(const char *globs, const char *type)
{
	char buf[256];
	const char *p = globs;
	int rc;

	if (globs == NULL || *globs == '\0')
		return event_match("*", type);
	/* A glob too long for the buffer matches nothing (config and ops refuse them). */
	while ((rc = event_glob_next(&p, buf, sizeof(buf))) != 0)
		if (rc == 1 && event_match(buf, type))
			return 1;
	return 0;
}
