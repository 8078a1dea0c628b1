#define _POSIX_C_SOURCE 200809L /* clock_gettime, gmtime_r, strdup */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonl.h"
#include "record.h"
#include "../runtime/log.h"
#include "../runtime/wa_limits.h"

/* The longest line: client id, username and topic (each at most 65535 bytes, escaped at most
 * 6x) and a payload in base64, with room for the rest. */
#define LINE_MAX_BYTES (3u * 6u * 65535u + 4u * (WA_RECORD_PAYLOAD_BYTES / 3u + 1u) + 1024u)

struct wa_record {
	char *path;
	int payloads;
	uint64_t max_bytes;
	int fd;        /* -1: not open */
	int failed;    /* an error was logged since the last reopen */
	uint64_t size; /* of the file, what is buffered included */
	uint64_t lost; /* records not written since the last one that was */
	struct wa_jsonl line;
	size_t len;
	char buf[WA_RECORD_BUFFER_BYTES];
};

static void fail_once(struct wa_record *r, const char *what)
{
	if (!r->failed)
		wa_log(WA_LOG_ERR, "record file %s: %s: %s; requests are not recorded", r->path, what, strerror(errno));
	r->failed = 1;
}

static void open_file(struct wa_record *r)
{
	struct stat st;

	r->fd = open(r->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (r->fd < 0) {
		fail_once(r, "cannot open");
		return;
	}
	r->size = fstat(r->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Writes n bytes at p (what is buffered or one long line); on an error the bytes are lost. */
static void put_file(struct wa_record *r, const char *p, size_t n)
{
	while (n && r->fd >= 0) {
		ssize_t w = write(r->fd, p, n);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) {
			fail_once(r, "write failed");
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void wa_record_flush(struct wa_record *r)
{
	if (!r || !r->len) return;
	put_file(r, r->buf, r->len);
	r->len = 0;
}

/* FILE -> FILE.1, and a new FILE. */
static void rotate(struct wa_record *r)
{
	char old[4096];

	wa_record_flush(r);
	if (r->fd >= 0) close(r->fd);
	r->fd = -1;
	if (snprintf(old, sizeof old, "%s.1", r->path) < (int)sizeof old && rename(r->path, old) != 0)
		fail_once(r, "cannot rename it to .1");
	open_file(r);
}

void wa_record_reopen(struct wa_record *r)
{
	if (!r) return;
	wa_record_flush(r);
	if (r->fd >= 0) close(r->fd);
	r->failed = 0;
	open_file(r);
}

struct wa_record *wa_record_new(const char *path, int payloads, uint64_t max_bytes)
{
	struct wa_record *r = calloc(1, sizeof *r);

	if (r) r->path = strdup(path);
	if (!r || !r->path) {
		free(r);
		wa_log(WA_LOG_ERR, "out of memory for the record file: requests are not recorded");
		return NULL;
	}
	r->payloads = payloads;
	r->max_bytes = max_bytes;
	r->line.max = LINE_MAX_BYTES;
	open_file(r);
	return r;
}

void wa_record_free(struct wa_record *r)
{
	if (!r) return;
	wa_record_flush(r);
	if (r->lost) wa_log(WA_LOG_WARNING, "record file %s: %llu records lost", r->path, (unsigned long long)r->lost);
	if (r->fd >= 0) close(r->fd);
	wa_jsonl_free(&r->line);
	free(r->path);
	free(r);
}

static const char *decision_word(enum wa_decision d)
{
	return d == WA_ALLOW ? "allow" : d == WA_DEFER ? "defer" : "deny";
}

static void put_cstr(struct wa_jsonl *j, const char *s)
{
	wa_jsonl_str(j, s, s ? strlen(s) : 0);
}

int wa_record_format(struct wa_jsonl *j, const struct wa_record_entry *e, int payloads, const struct timespec *wall)
{
	struct tm tm;
	time_t secs = wall->tv_sec;

	wa_jsonl_reset(j);
	gmtime_r(&secs, &tm);
	wa_jsonl_printf(j, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"client_id\":", tm.tm_year + 1900,
	                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, wall->tv_nsec / 1000000L);
	put_cstr(j, e->clientid);
	wa_jsonl_raw(j, ",\"username\":", 12);
	put_cstr(j, e->username);
	wa_jsonl_raw(j, ",\"address\":", 11);
	put_cstr(j, e->address);
	wa_jsonl_printf(j, ",\"protocol\":%d,\"access\":\"%s\"", e->protocol, e->access);
	if (e->topic) {
		wa_jsonl_raw(j, ",\"topic\":", 9);
		put_cstr(j, e->topic);
		wa_jsonl_printf(j, ",\"qos\":%d,\"retain\":%s", e->qos, e->retain ? "true" : "false");
		if (payloads && e->payloadlen <= WA_RECORD_PAYLOAD_BYTES) {
			wa_jsonl_raw(j, ",\"payload\":", 11);
			wa_jsonl_base64(j, e->payload, e->payload ? e->payloadlen : 0);
		} else if (payloads) {
			wa_jsonl_printf(j, ",\"payload_left_out\":%lu", (unsigned long)e->payloadlen);
		}
	} else {
		wa_jsonl_printf(j, ",\"password\":%s", e->password_given ? "\"<redacted>\"" : "null");
	}
	wa_jsonl_printf(j, ",\"decision\":\"%s\"}\n", decision_word(e->decision));
	return j->over ? -1 : 0;
}

void wa_record_write_at(struct wa_record *r, const struct wa_record_entry *e, const struct timespec *wall)
{
	size_t n;

	if (r->fd < 0 || wa_record_format(&r->line, e, r->payloads, wall) != 0) {
		r->lost++;
		return;
	}
	n = r->line.len;
	if (r->size + n > r->max_bytes && r->size > 0) rotate(r);
	if (r->fd < 0) {
		r->lost++;
		return;
	}
	if (r->len + n > sizeof r->buf) wa_record_flush(r);
	if (n > sizeof r->buf) {
		put_file(r, r->line.buf, n);
	} else {
		memcpy(r->buf + r->len, r->line.buf, n);
		r->len += n;
	}
	r->size += n;
}

void wa_record_write(struct wa_record *r, const struct wa_record_entry *e)
{
	struct timespec wall;

	clock_gettime(CLOCK_REALTIME, &wall);
	wa_record_write_at(r, e, &wall);
}
