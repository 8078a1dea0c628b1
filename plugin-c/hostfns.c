#define _GNU_SOURCE /* getrandom */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hostfns.h"
#include "log.h"
#include "pwhash.h"
#include "text.h"
#include "topic.h"

#define OPTION_FILE_SUFFIX "_file"

static int trap(struct wa_host *h, const char *fn, const char *why)
{
	snprintf(h->trap, sizeof h->trap, "%s: %s", fn, why);
	return -1;
}

int wa_host_topic_matches_sub(struct wa_host *h, struct wa_mem m, uint32_t sub, uint32_t sublen,
                              uint32_t topic, uint32_t topiclen, int32_t *ret)
{
	const uint8_t *s = wa_mem_range(m, sub, sublen);
	const uint8_t *t = wa_mem_range(m, topic, topiclen);

	if (!s || !t) return trap(h, "topic_matches_sub", "pointer out of bounds");
	*ret = wa_topic_matches_sub((const char *)s, sublen, (const char *)t, topiclen);
	return 0;
}

static int log_level(int32_t level)
{
	switch (level) {
	case WA_LOG_INFO:
	case WA_LOG_NOTICE:
	case WA_LOG_WARNING:
	case WA_LOG_ERR:
	case WA_LOG_DEBUG:
		return level;
	default:
		return WA_LOG_INFO;
	}
}

int wa_host_log(struct wa_host *h, struct wa_mem m, int32_t level, uint32_t ptr, uint32_t len)
{
	char text[WA_MAX_LOG_BYTES + 1];
	const uint8_t *p = wa_mem_range(m, ptr, len);
	size_t n;

	if (!p) return trap(h, "log", "pointer out of bounds");
	n = wa_utf16le_to_utf8(p, len, text, sizeof text);
	wa_text_sanitize_controls(text, n);
	wa_log(log_level(level), "%s", text);
	return 0;
}

static int copy_out(struct wa_host *h, struct wa_mem m, const char *fn, const char *value,
                    uint32_t buf, uint32_t cap, int32_t *ret)
{
	size_t len;
	uint8_t *dst;

	if (!value) {
		*ret = -1;
		return 0;
	}
	dst = wa_mem_range(m, buf, cap);
	if (!dst) return trap(h, fn, "buffer out of bounds");
	len = strlen(value);
	memcpy(dst, value, len < cap ? len : cap);
	*ret = len > INT32_MAX ? INT32_MAX : (int32_t)len;
	return 0;
}

int wa_host_client_id(struct wa_host *h, struct wa_mem m, uint32_t buf, uint32_t cap, int32_t *ret)
{
	const char *v = NULL;

	if (h->client && h->client_ops && h->client_ops->id) v = h->client_ops->id(h->client);
	return copy_out(h, m, "client_id", v, buf, cap, ret);
}

int wa_host_client_address(struct wa_host *h, struct wa_mem m, uint32_t buf, uint32_t cap, int32_t *ret)
{
	const char *v = NULL;

	if (h->client && h->client_ops && h->client_ops->address) v = h->client_ops->address(h->client);
	return copy_out(h, m, "client_address", v, buf, cap, ret);
}

int wa_host_client_protocol_version(struct wa_host *h, int32_t *ret)
{
	*ret = 0;
	if (h->client && h->client_ops && h->client_ops->protocol_version) {
		*ret = h->client_ops->protocol_version(h->client);
	}
	return 0;
}

int wa_host_pw_verify(struct wa_host *h, struct wa_mem m, uint32_t hash, uint32_t hashlen,
                      uint32_t pw, uint32_t pwlen, int32_t *ret)
{
	const uint8_t *hp = wa_mem_range(m, hash, hashlen);
	const uint8_t *pp = wa_mem_range(m, pw, pwlen);

	if (!hp || !pp) return trap(h, "pw_verify", "pointer out of bounds");
	*ret = wa_pw_verify((const char *)hp, hashlen, pp, pwlen);
	return 0;
}

/* Opens the file named by option `key` if the rules allow: only during plugin_init /
 * security_init, only keys ending in "_file" that are present, only regular files up to
 * WA_MAX_OPTION_FILE_BYTES. Returns the fd (size in *size) or -1; -2 = trap (bad pointer). */
static int open_option_file(struct wa_host *h, struct wa_mem m, const char *fn, uint32_t key,
                            uint32_t keylen, off_t *size)
{
	const uint8_t *k = wa_mem_range(m, key, keylen);
	const size_t suffix = sizeof OPTION_FILE_SUFFIX - 1;
	const struct wa_opt *o;
	struct stat st;
	int fd;

	if (!k) {
		trap(h, fn, "pointer out of bounds");
		return -2;
	}
	if (!h->in_init || !h->opts || keylen <= suffix) return -1;
	if (memcmp(k + keylen - suffix, OPTION_FILE_SUFFIX, suffix) != 0) return -1;
	o = wa_options_find(h->opts, (const char *)k, keylen);
	if (!o || !o->valuelen) return -1;
	fd = open(o->value, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)WA_MAX_OPTION_FILE_BYTES) {
		close(fd);
		return -1;
	}
	*size = st.st_size;
	return fd;
}

int wa_host_option_file_size(struct wa_host *h, struct wa_mem m, uint32_t key, uint32_t keylen, int32_t *ret)
{
	off_t size = 0;
	int fd = open_option_file(h, m, "option_file_size", key, keylen, &size);

	if (fd == -2) return -1;
	*ret = -1;
	if (fd >= 0) {
		*ret = (int32_t)size;
		close(fd);
	}
	return 0;
}

int wa_host_option_file_read(struct wa_host *h, struct wa_mem m, uint32_t key, uint32_t keylen,
                             uint32_t buf, uint32_t cap, int32_t *ret)
{
	off_t size = 0;
	uint8_t *dst = wa_mem_range(m, buf, cap);
	int fd;
	size_t want, got = 0;

	if (!dst) return trap(h, "option_file_read", "buffer out of bounds");
	fd = open_option_file(h, m, "option_file_read", key, keylen, &size);
	if (fd == -2) return -1;
	*ret = -1;
	if (fd < 0) return 0;
	want = (size_t)size < cap ? (size_t)size : cap;
	while (got < want) {
		ssize_t r = read(fd, dst + got, want - got);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		got += (size_t)r;
	}
	close(fd);
	if (got == want) *ret = (int32_t)got;
	return 0;
}

/* One guest string for a message: converted, sanitised, "<invalid>" if it cannot be read. */
static void guest_text(struct wa_mem m, uint32_t ptr, char *out, size_t cap)
{
	const uint8_t *data;
	uint32_t len;

	if (wa_mem_string(m, ptr, &data, &len) != 0) {
		snprintf(out, cap, "<invalid>");
		return;
	}
	wa_text_sanitize_controls(out, wa_utf16le_to_utf8(data, len, out, cap));
}

int wa_host_abort(struct wa_host *h, struct wa_mem m, uint32_t msg, uint32_t file, uint32_t line, uint32_t col)
{
	char text[WA_MAX_LOG_BYTES + 1], where[WA_MAX_LOG_BYTES + 1];

	guest_text(m, msg, text, sizeof text);
	guest_text(m, file, where, sizeof where);
	snprintf(h->trap, sizeof h->trap, "abort: %s at %s:%u:%u", text, where, line, col);
	return -1;
}

int wa_host_trace(struct wa_host *h, struct wa_mem m, uint32_t msg, int32_t n, const double a[5])
{
	char text[WA_MAX_LOG_BYTES + 1], line[WA_MAX_LOG_BYTES + 160];
	int off;

	(void)h;
	guest_text(m, msg, text, sizeof text);
	off = snprintf(line, sizeof line, "trace: %s", text);
	for (int32_t i = 0; i < n && i < 5 && off > 0 && (size_t)off < sizeof line; i++) {
		off += snprintf(line + off, sizeof line - (size_t)off, "%s%.17g", i ? ", " : " ", a[i]);
	}
	wa_log(WA_LOG_DEBUG, "%s", line);
	return 0;
}

int wa_host_seed(struct wa_host *h, double *ret)
{
	uint64_t r;

	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) return trap(h, "seed", "getrandom failed");
	/* 53 random bits: every value is an exact, finite double. */
	*ret = (double)(r >> 11);
	return 0;
}

int wa_host_date_now(struct wa_host *h, double *ret)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return trap(h, "Date.now", "clock_gettime failed");
	*ret = (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
	return 0;
}
