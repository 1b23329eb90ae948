/* bench_exec.c: runs one command as a whole process and reports its wall time, its peak RSS
 * and how many bytes it printed (tsinvctl devices against sqlite3, export at 10k and 100k). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "log.h"

static void
exec_usage(void)
{
	fprintf(stderr, "usage: bench_exec [-o FILE] COMMAND [ARG...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *outpath = "/dev/null";
	struct rusage ru;
	struct stat sb;
	int64_t t0, t1;
	pid_t pid;
	int ch, fd, status;
	long long bytes = -1;

	log_init("bench_exec", 0);
	while ((ch = getopt(argc, argv, "+o:")) != -1) {
		switch (ch) {
		case 'o':
			outpath = optarg;
			break;
		default:
			exec_usage();
		}
	}
	if (optind == argc)
		exec_usage();
	if ((fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		fatal("%s", outpath);
	fflush(NULL);
	t0 = bench_now_ns();
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		if (dup2(fd, 1) == -1)
			_exit(127);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) == -1)
		if (errno != EINTR)
			fatal("wait4");
	t1 = bench_now_ns();
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		bytes = (long long)sb.st_size;
	close(fd);
	printf("RESULT wall_ms=%.1f maxrss_kb=%ld out_bytes=%lld status=%d\n",
	       (double)(t1 - t0) / 1e6, ru.ru_maxrss, bytes,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
