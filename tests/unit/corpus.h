/* corpus.h: the real policy files the tests read: the project's corpus of fifteen when it is
 * configured (POLICY_CORPUS), else the two this tree may ship (tests/data/policies). */
#ifndef TSINV_TEST_CORPUS_H
#define TSINV_TEST_CORPUS_H

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define CORPUS_SIZE 15 /* the reference corpus: all of it must be there when it is required */

static const char *
corpus_dir(void)
{
	return POLICY_CORPUS[0] != '\0' ? POLICY_CORPUS : TESTDATA "/policies";
}

static int
corpus_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 7 && strcmp(d->d_name + n - 7, ".hujson") == 0;
}

/* The *.hujson file names in the corpus, sorted; NULL-terminated, malloc'd. */
static char **
corpus_list(size_t *n)
{
	struct dirent **ents;
	char **names;
	int i, got = scandir(corpus_dir(), &ents, corpus_filter, alphasort);

	*n = got > 0 ? (size_t)got : 0;
	names = calloc(*n + 1, sizeof(*names));
	for (i = 0; i < got; i++) {
		names[i] = strdup(ents[i]->d_name);
		free(ents[i]);
	}
	if (got > 0)
		free(ents);
	return names;
}

static void
corpus_free(char **names)
{
	for (size_t i = 0; names != NULL && names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

#endif
