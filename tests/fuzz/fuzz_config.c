/* fuzz_config.c: libFuzzer target: the configuration parser on any file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64], *errors = NULL;
	struct config *cf;

	/* The parser reads a path: an in-memory file, rewritten for each input. */
	if (fd < 0 && (fd = memfd_create("fuzz-config", 0)) < 0)
		abort();
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	cf = config_load(path, &errors);
	/* Either a configuration, or errors that say where: never both, never neither. */
	if ((cf == NULL) == (errors == NULL))
		abort();
	config_free(cf);
	free(errors);
	return 0;
}
