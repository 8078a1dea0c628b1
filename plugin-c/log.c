#include <stdarg.h>
#include <stdio.h>

#include "log.h"

#define WA_LOG_PREFIX "wasm-auth: "

static void stderr_sink(int level, const char *line)
{
	(void)level;
	fprintf(stderr, "%s\n", line);
}

static wa_log_sink current_sink = stderr_sink;

void wa_log_set_sink(wa_log_sink sink)
{
	current_sink = sink ? sink : stderr_sink;
}

void wa_log(int level, const char *fmt, ...)
{
	/* Long enough for a guest log line (WA_MAX_LOG_BYTES) plus our own context. */
	char line[2048] = WA_LOG_PREFIX;
	size_t off = sizeof WA_LOG_PREFIX - 1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + off, sizeof line - off, fmt, ap);
	va_end(ap);
	current_sink(level, line);
}
