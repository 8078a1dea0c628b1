#define _POSIX_C_SOURCE 200809L /* clock_gettime, gmtime_r */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "jsonl.h"
#include "../gate/gate.h"
#include "../runtime/log.h"
#include "../runtime/wa_limits.h"

struct wa_audit {
	enum wa_audit_level level;
	char *path; /* NULL: mosquitto's log */
	int fd;     /* -1: not open (records dropped) */
	int failed; /* a write error was logged since the last reopen */
	struct wa_audit_limit limit;
	size_t len;
	char buf[WA_AUDIT_BUFFER_BYTES];
};

/* Into the caller's buffer (never grown): past its end only `over` is set. */
static struct wa_jsonl out_into(char *buf, size_t cap)
{
	struct wa_jsonl j = { buf, 0, cap, cap ? cap - 1 : 0, cap == 0 };

	if (cap) buf[0] = '\0';
	return j;
}

/* A field as a JSON string of at most WA_AUDIT_FIELD_BYTES, cut on a character boundary. */
static void put_json_str(struct wa_jsonl *o, const char *s, size_t len)
{
	if (s && len > WA_AUDIT_FIELD_BYTES) {
		len = WA_AUDIT_FIELD_BYTES;
		for (unsigned k = 0; k < 3u && ((unsigned char)s[len] & 0xC0u) == 0x80u; k++) len--;
	}
	wa_jsonl_str(o, s, len);
}

static void put_cstr(struct wa_jsonl *o, const char *s)
{
	put_json_str(o, s, s ? strlen(s) : 0);
}

static const char *decision_word(enum wa_decision d)
{
	return d == WA_ALLOW ? "allow" : d == WA_DEFER ? "defer" : "deny";
}

size_t wa_audit_format_json(char *buf, size_t cap, const struct wa_audit_record *r, const struct timespec *wall)
{
	struct wa_jsonl o = out_into(buf, cap);
	struct tm tm;
	time_t secs = wall->tv_sec;

	gmtime_r(&secs, &tm);
	wa_jsonl_printf(&o, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"client_id\":", tm.tm_year + 1900,
	                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, wall->tv_nsec / 1000000L);
	put_cstr(&o, r->clientid);
	wa_jsonl_raw(&o, ",\"username\":", 12);
	put_cstr(&o, r->username);
	wa_jsonl_raw(&o, ",\"access\":", 10);
	put_cstr(&o, r->access);
	wa_jsonl_raw(&o, ",\"topic\":", 9);
	put_cstr(&o, r->topic);
	wa_jsonl_printf(&o, ",\"decision\":\"%s\",\"source\":", decision_word(r->decision));
	put_cstr(&o, r->source);
	wa_jsonl_raw(&o, ",\"reason\":", 10);
	put_json_str(&o, r->reason ? r->reason : "", r->reason ? r->reason_len : 0);
	wa_jsonl_printf(&o, ",\"fuel\":%" PRId64 "}", r->fuel);
	return o.over ? 0 : o.len;
}

size_t wa_audit_format_text(char *buf, size_t cap, const struct wa_audit_record *r)
{
	struct wa_jsonl o = out_into(buf, cap);

	wa_jsonl_printf(&o, "audit: %s %s client_id=", decision_word(r->decision), r->access ? r->access : "none");
	put_cstr(&o, r->clientid);
	wa_jsonl_raw(&o, " username=", 10);
	put_cstr(&o, r->username);
	if (r->topic) {
		wa_jsonl_raw(&o, " topic=", 7);
		put_cstr(&o, r->topic);
	}
	wa_jsonl_printf(&o, " source=%s reason=", r->source ? r->source : "policy");
	put_json_str(&o, r->reason ? r->reason : "", r->reason ? r->reason_len : 0);
	wa_jsonl_printf(&o, " fuel=%" PRId64, r->fuel);
	return o.over ? 0 : o.len;
}

int wa_audit_limit_take(struct wa_audit_limit *l, uint64_t now_ms)
{
	uint64_t refill;

	if (now_ms > l->last_ms) {
		refill = (now_ms - l->last_ms) * WA_AUDIT_LINES_PER_S;
		l->debt = refill >= l->debt ? 0 : l->debt - refill;
		l->last_ms = now_ms;
	}
	if (l->debt + 1000u > (uint64_t)WA_AUDIT_BURST_LINES * 1000u) {
		l->suppressed++;
		return 0;
	}
	l->debt += 1000u;
	return 1;
}

static void log_errno_once(struct wa_audit *a, const char *what)
{
	if (a->failed) return;
	a->failed = 1;
	wa_log(WA_LOG_ERR, "audit file %.256s: %s: %s; audit records are dropped until a reload reopens it", a->path,
	       what, strerror(errno));
}

void wa_audit_flush(struct wa_audit *a)
{
	size_t done = 0;

	if (!a || !a->len) return;
	while (a->fd >= 0 && done < a->len) {
		ssize_t n = write(a->fd, a->buf + done, a->len - done);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			if (n == 0) errno = EIO;
			log_errno_once(a, errno == EAGAIN ? "full, would block" : "write failed");
			break;
		}
	}
	a->len = 0;
}

static void open_file(struct wa_audit *a)
{
	a->fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0640);
	a->failed = 0;
	if (a->fd < 0) log_errno_once(a, "cannot open");
}

struct wa_audit *wa_audit_new(enum wa_audit_level level, const char *path)
{
	struct wa_audit *a = calloc(1, sizeof *a);

	if (!a || (path && !(a->path = strdup(path)))) {
		free(a);
		wa_log(WA_LOG_ERR, "out of memory for the audit log: not auditing");
		return NULL;
	}
	a->level = level;
	a->fd = -1;
	if (a->path) open_file(a);
	return a;
}

void wa_audit_reopen(struct wa_audit *a)
{
	if (!a || !a->path) return;
	wa_audit_flush(a);
	if (a->fd >= 0) close(a->fd);
	open_file(a);
}

void wa_audit_free(struct wa_audit *a)
{
	if (!a) return;
	wa_audit_flush(a);
	if (a->fd >= 0) close(a->fd);
	free(a->path);
	free(a);
}

int wa_audit_wanted(const struct wa_audit *a, enum wa_decision d)
{
	return a->level == WA_AUDIT_ALL || (a->level == WA_AUDIT_DENY && d != WA_ALLOW);
}

/* One line into the file's buffer (flushed first when it does not fit). */
static void append(struct wa_audit *a, const char *line, size_t n)
{
	if (a->fd < 0) return;
	if (n + 1 > sizeof a->buf - a->len) wa_audit_flush(a);
	memcpy(a->buf + a->len, line, n);
	a->buf[a->len + n] = '\n';
	a->len += n + 1;
}

void wa_audit_write_at(struct wa_audit *a, const struct wa_audit_record *r, uint64_t now_ms,
                       const struct timespec *wall)
{
	char line[WA_AUDIT_LINE_BYTES];
	size_t n;
	int level = r->decision == WA_ALLOW ? WA_LOG_INFO : WA_LOG_NOTICE;

	if (!wa_audit_limit_take(&a->limit, now_ms)) return;
	if (a->limit.suppressed) {
		if (a->path) {
			struct tm tm;
			time_t secs = wall->tv_sec;
			gmtime_r(&secs, &tm);
			n = (size_t)snprintf(
			    line, sizeof line,
			    "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"suppressed\":%" PRIu64
			    ",\"message\":\"%" PRIu64 " audit lines suppressed\"}",
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			    wall->tv_nsec / 1000000L, a->limit.suppressed, a->limit.suppressed);
			append(a, line, n);
		} else {
			wa_log(WA_LOG_NOTICE, "audit: %" PRIu64 " audit lines suppressed", a->limit.suppressed);
		}
		a->limit.suppressed = 0;
	}
	if (a->path) {
		n = wa_audit_format_json(line, sizeof line, r, wall);
		if (n) append(a, line, n);
	} else {
		n = wa_audit_format_text(line, sizeof line, r);
		if (n) wa_log(level, "%s", line);
	}
}

void wa_audit_write(struct wa_audit *a, const struct wa_audit_record *r)
{
	struct timespec mono, wall;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	wa_audit_write_at(a, r, (uint64_t)mono.tv_sec * 1000u + (uint64_t)mono.tv_nsec / 1000000u, &wall);
}
