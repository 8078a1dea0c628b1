#define _POSIX_C_SOURCE 200809L /* strdup */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_limits.h"
#include "log.h"
#include "text.h"

#define WA_LOG_PREFIX "wasm-auth: "

struct queued {
	int level;
	char *line;
};

static void stderr_sink(int level, const char *line)
{
	(void)level;
	fprintf(stderr, "%s\n", line);
}

static wa_log_sink current_sink = stderr_sink;
static _Thread_local int deferred;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static struct queued queue[WA_LOG_QUEUE_LINES];
static unsigned queued, lost;
/* Set under the lock whenever queued or lost is not 0: wa_log_flush runs on every broker loop
 * iteration (MOSQ_EVT_TICK) and, with nothing queued, must cost no lock. */
static _Atomic int pending;

void wa_log_set_sink(wa_log_sink sink)
{
	current_sink = sink ? sink : stderr_sink;
}

void wa_log_defer(int on)
{
	deferred = on;
}

static void enqueue(int level, const char *line)
{
	char *copy = strdup(line);

	pthread_mutex_lock(&queue_lock);
	if (copy && queued < WA_LOG_QUEUE_LINES) {
		queue[queued].level = level;
		queue[queued++].line = copy;
		copy = NULL;
	} else {
		lost++;
	}
	pending = 1;
	pthread_mutex_unlock(&queue_lock);
	free(copy);
}

void wa_log_flush(void)
{
	struct queued take[WA_LOG_QUEUE_LINES];
	unsigned n, dropped;

	/* Only the main thread writes to the sink: a worker that flushes (the login thread polling
	 * its own builds, auth.c) leaves its lines queued. */
	if (!pending || deferred) return;
	pthread_mutex_lock(&queue_lock);
	n = queued;
	dropped = lost;
	memcpy(take, queue, n * sizeof *take);
	queued = lost = 0;
	pending = 0;
	pthread_mutex_unlock(&queue_lock);
	for (unsigned i = 0; i < n; i++) {
		current_sink(take[i].level, take[i].line);
		free(take[i].line);
	}
	if (dropped)
		wa_log(WA_LOG_WARNING, "%u log lines from the policy worker thread were not logged (queue full)",
		       dropped);
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
	/* Lines quote what a module or a client chose (names, topics, guest text): nothing in them
	 * may forge, cut or disguise a line (text.h). */
	wa_text_sanitize_controls(line + off, strlen(line + off));
	if (deferred) {
		enqueue(level, line);
	} else {
		current_sink(level, line);
	}
}
