/* checks-catalogue.c: the catalogue of checks as data (ids, severities, texts), its names and
 * lookups: what "check --list" and the man page need, without the evaluators. */
#include <fnmatch.h>
#include <string.h>

#include "checks.h"

const struct check check_table[CHECK_COUNT] = {
#define CHECK(sym, id_, group_, sev, title_, why, fix, kb_)                                        \
	[CHECK_I_##sym] = {.id = id_,                                                              \
	                   .group = CHECK_G_##group_,                                              \
	                   .severity = CHECK_##sev,                                                \
	                   .title = title_,                                                        \
	                   .rationale = why,                                                       \
	                   .remediation = fix,                                                     \
	                   .kb = kb_},
#include "check-table.h"
#undef CHECK
};

const char *const check_severity_names[CHECK_NSEVERITIES] = {"info", "low", "medium", "high",
                                                             "critical"};
const char *const check_group_names[CHECK_NGROUPS] = {"ACL",  "SSH", "AUTH", "DEV", "NET",
                                                      "USER", "DNS", "LOG",  "HIST"};

const struct check *
check_find(const char *id)
{
	for (size_t i = 0; i < CHECK_COUNT; i++) {
		if (strcmp(check_table[i].id, id) == 0)
			return &check_table[i];
	}
	return NULL;
}

int
check_severity_parse(const char *name, enum check_severity *out)
{
	for (int i = 0; i < CHECK_NSEVERITIES; i++) {
		if (strcmp(check_severity_names[i], name) == 0) {
			*out = (enum check_severity)i;
			return 0;
		}
	}
	return -1;
}

bool
check_match(const struct check *c, const char *pat)
{
	return strcmp(c->id, pat) == 0 || fnmatch(pat, c->id, 0) == 0;
}
