/* For C tests that load policies: the log lines wa_log writes (pass capture to
 * wa_log_set_sink; the first LOG_CAPTURE_LINES are kept, every line counted in nlogged) and the
 * path of a compiled fixture under WA_TEST_FIXTURES. */
#ifndef WASM_AUTH_LOG_CAPTURE_H
#define WASM_AUTH_LOG_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_CAPTURE_LINES 64

static char logged[LOG_CAPTURE_LINES][1024];
static unsigned nlogged;

static inline void capture_line(const char *line)
{
	if (nlogged < LOG_CAPTURE_LINES) snprintf(logged[nlogged], sizeof logged[0], "%s", line);
	nlogged++;
}

static inline void capture(int level, const char *line)
{
	(void)level;
	capture_line(line);
}

/* How many kept lines contain needle. */
static inline unsigned lines_with(const char *needle)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nlogged && i < LOG_CAPTURE_LINES; i++) n += strstr(logged[i], needle) != NULL;
	return n;
}

/* WA_TEST_FIXTURES/NAME.wasm (a static buffer: the next call replaces it). */
static inline const char *fixture(const char *name)
{
	static char path[512];
	const char *dir = getenv("WA_TEST_FIXTURES");

	snprintf(path, sizeof path, "%s/%s.wasm", dir ? dir : ".", name);
	return path;
}

#endif
