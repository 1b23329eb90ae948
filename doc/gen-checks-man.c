/* gen-checks-man.c: prints tsinv-checks(7) from the catalogue ("make checks-man"). */
#include <stdio.h>
#include <stdlib.h>

#include "checks.h"

int
main(void)
{
	struct sbuf sb = {0};
	char *page;
	int rc;

	checks_man_page(&sb);
	page = sbuf_steal(&sb);
	rc = fputs(page, stdout) == EOF || fflush(stdout) == EOF;
	free(page);
	return rc;
}
