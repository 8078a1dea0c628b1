/* A minimal assertion kit for the C unit tests: every CHECK counts as one passed or failed
 * assertion; a failure prints where and what. check_done() prints the closing line
 * "N passed, N failed" and gives the exit status. */
#ifndef WASM_AUTH_CHECK_H
#define WASM_AUTH_CHECK_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

static unsigned check_passed, check_failed;

/* Open file descriptors of this process (to check that none leak). */
static inline int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d) return -1;
	while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

#define CHECK(cond)          check_one(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_INT(got, want) check_int((long long)(got), (long long)(want), __FILE__, __LINE__, #got)
#define CHECK_STR(got, want) check_str((got), (want), __FILE__, __LINE__, #got)

static inline int check_one(int ok, const char *file, int line, const char *what)
{
	if (ok) {
		check_passed++;
	} else {
		check_failed++;
		fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
	}
	return ok;
}

static inline int check_int(long long got, long long want, const char *file, int line, const char *what)
{
	if (got == want) return check_one(1, file, line, what);
	fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", file, line, what, got, want);
	return check_one(0, file, line, what);
}

static inline int check_str(const char *got, const char *want, const char *file, int line, const char *what)
{
	int ok = got && want && strcmp(got, want) == 0;
	if (!ok) {
		fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", file, line, what, got ? got : "(null)",
		        want ? want : "(null)");
	}
	return check_one(ok, file, line, what);
}

static inline int check_done(void)
{
	printf("%u passed, %u failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
