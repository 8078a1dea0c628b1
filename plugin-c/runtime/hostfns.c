#define _GNU_SOURCE /* getrandom */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "../gate/gate.h"
#include "abi.h"
#include "crypto.h"
#include "hostfns.h"
#include "jwt.h"
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

/* Takes units from the guest's fuel before the work they pay for: 0, or -1 (trap "fuel
 * exhausted", the work must not be done) when the counter goes below 0 or already was (the
 * engine's deadline watchdog drives it below 0: this is also the host's deadline check). A
 * negative counter is left as it is, so nothing can wrap it around. */
static int charge(struct wa_host *h, const char *fn, uint64_t units)
{
	int64_t *fuel = h->fuel;

	if (!fuel) return 0;
	if (*fuel >= 0) {
		*fuel -= units > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)units;
		if (*fuel >= 0) return 0;
	}
	snprintf(h->trap, sizeof h->trap, "fuel exhausted");
	h->fuel_fn = fn;
	return -1;
}

/* The price of `bytes` bytes at `price_32` units per 32 bytes, rounded up. */
static uint64_t per32(uint64_t bytes, uint64_t price_32)
{
	return (bytes * price_32 + 31u) / 32u;
}

/* Guest text to convert (UTF-16LE): the conversion stops once WA_MAX_LOG_BYTES of UTF-8 are
 * out, which takes at most two input bytes each. */
static uint64_t text_price(uint64_t utf16_bytes)
{
	uint64_t n = utf16_bytes < 2u * WA_MAX_LOG_BYTES ? utf16_bytes : 2u * WA_MAX_LOG_BYTES;
	return per32(n, WA_FUEL_TEXT_32);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t less(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

int wa_log_limit_take(struct wa_log_limit *l, uint64_t now, uint64_t bytes)
{
	uint64_t elapsed = less(now, l->last_ms);

	if (now > l->last_ms) l->last_ms = now;
	/* elapsed is a monotonic clock's milliseconds: elapsed * rate cannot overflow. */
	l->line_debt = less(l->line_debt, elapsed * WA_LOG_LINES_PER_S);
	l->byte_debt = less(l->byte_debt, elapsed * WA_LOG_BYTES_PER_S);
	if (l->line_debt == 0 && l->byte_debt == 0) l->noticed = 0; /* quiet long enough: a new flood */
	if (l->line_debt + 1000u > WA_LOG_BURST_LINES * 1000ull || bytes > WA_LOG_BURST_BYTES ||
	    l->byte_debt + bytes * 1000u > WA_LOG_BURST_BYTES * 1000ull) {
		l->dropped_lines++;
		l->dropped_bytes += bytes;
		return 0;
	}
	l->line_debt += 1000u;
	l->byte_debt += bytes * 1000u;
	return 1;
}

/* One line the guest caused, through the rate limit: when it starts dropping lines, one notice
 * says so (once per flood: again only after the buckets have refilled completely); the next line
 * let through is preceded by the count of those dropped. */
static void guest_line(struct wa_host *h, int level, const char *text, size_t len)
{
	struct wa_log_limit *l = &h->log_limit;

	if (!wa_log_limit_take(l, now_ms(), len)) {
		if (!l->noticed) {
			l->noticed = 1;
			wa_log(WA_LOG_WARNING,
			       "guest log rate limit reached (%u lines and %u bytes per second, bursts of "
			       "%u lines and %u bytes): further guest log lines are suppressed and counted",
			       WA_LOG_LINES_PER_S, WA_LOG_BYTES_PER_S, WA_LOG_BURST_LINES, WA_LOG_BURST_BYTES);
		}
		return;
	}
	if (l->dropped_lines) {
		wa_log(WA_LOG_WARNING, "%" PRIu64 " guest log lines (%" PRIu64 " bytes) suppressed", l->dropped_lines,
		       l->dropped_bytes);
		l->dropped_lines = 0;
		l->dropped_bytes = 0;
	}
	wa_log(level, "%s%s", h->log_prefix ? h->log_prefix : "", text);
}

int wa_host_topic_matches_sub(struct wa_host *h, struct wa_mem m, uint32_t sub, uint32_t sublen, uint32_t topic,
                              uint32_t topiclen, int32_t *ret)
{
	const uint8_t *s, *t;

	if (charge(h, "topic_matches_sub", WA_FUEL_HOST_CALL)) return -1;
	s = wa_mem_range(m, sub, sublen);
	t = wa_mem_range(m, topic, topiclen);
	if (!s || !t) return trap(h, "topic_matches_sub", "pointer out of bounds");
	if (charge(h, "topic_matches_sub", per32((uint64_t)sublen + topiclen, WA_FUEL_SCAN_32))) return -1;
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
		case WA_LOG_DEBUG: return level;
		default: return WA_LOG_INFO;
	}
}

int wa_host_log(struct wa_host *h, struct wa_mem m, int32_t level, uint32_t ptr, uint32_t len)
{
	char text[WA_MAX_LOG_BYTES + 1];
	const uint8_t *p;
	size_t n;

	if (charge(h, "log", WA_FUEL_HOST_CALL)) return -1;
	p = wa_mem_range(m, ptr, len);
	if (!p) return trap(h, "log", "pointer out of bounds");
	if (charge(h, "log", text_price(len) + WA_FUEL_LOG_LINE)) return -1;
	n = wa_utf16le_to_utf8(p, len, text, sizeof text);
	n = wa_text_sanitize_controls(text, n);
	guest_line(h, log_level(level), text, n);
	return 0;
}

static int copy_out(struct wa_host *h, struct wa_mem m, const char *fn, const char *value, uint32_t buf, uint32_t cap,
                    int32_t *ret)
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
	/* The value's length: measured (strlen), then up to that much copied. */
	if (charge(h, fn, per32(len, WA_FUEL_COPY_32))) return -1;
	memcpy(dst, value, len < cap ? len : cap);
	*ret = len > INT32_MAX ? INT32_MAX : (int32_t)len;
	return 0;
}

int wa_host_client_id(struct wa_host *h, struct wa_mem m, uint32_t buf, uint32_t cap, int32_t *ret)
{
	const char *v = NULL;

	if (charge(h, "client_id", WA_FUEL_HOST_CALL)) return -1;
	if (h->client && h->client_ops && h->client_ops->id) v = h->client_ops->id(h->client);
	return copy_out(h, m, "client_id", v, buf, cap, ret);
}

int wa_host_client_address(struct wa_host *h, struct wa_mem m, uint32_t buf, uint32_t cap, int32_t *ret)
{
	const char *v = NULL;

	if (charge(h, "client_address", WA_FUEL_HOST_CALL)) return -1;
	if (h->client && h->client_ops && h->client_ops->address) v = h->client_ops->address(h->client);
	return copy_out(h, m, "client_address", v, buf, cap, ret);
}

int wa_host_client_protocol_version(struct wa_host *h, int32_t *ret)
{
	if (charge(h, "client_protocol_version", WA_FUEL_HOST_CALL)) return -1;
	*ret = 0;
	if (h->client && h->client_ops && h->client_ops->protocol_version) {
		*ret = h->client_ops->protocol_version(h->client);
	}
	return 0;
}

/* The warning for a hash above a cost cap (wa_pw_parse's WA_PW_TOO_COSTLY): the cap's name. */
static int pw_cap_warning(const struct wa_pw_hash *ph, char *line, size_t cap)
{
	if (!ph->argon2_kib)
		return snprintf(line, cap,
		                "pw_verify: a $7$ hash asks for %" PRIu32 " PBKDF2 iterations, above the cap "
		                "of %u (WA_MAX_PW_ITERATIONS): no match",
		                ph->iterations, WA_MAX_PW_ITERATIONS);
	if (ph->argon2_lanes > WA_MAX_PW_ARGON2_LANES)
		return snprintf(line, cap,
		                "pw_verify: an $argon2id$ hash asks for %" PRIu32 " lanes, above the cap of %u "
		                "(WA_MAX_PW_ARGON2_LANES): no match",
		                ph->argon2_lanes, WA_MAX_PW_ARGON2_LANES);
	return snprintf(line, cap,
	                "pw_verify: an $argon2id$ hash asks for m=%" PRIu32 " KiB x t=%" PRIu32
	                ", above the cap of %u KiB (WA_MAX_PW_ARGON2_KIB): no match",
	                ph->argon2_kib, ph->argon2_passes, WA_MAX_PW_ARGON2_KIB);
}

int wa_host_pw_verify(struct wa_host *h, struct wa_mem m, uint32_t hash, uint32_t hashlen, uint32_t pw, uint32_t pwlen,
                      int32_t *ret)
{
	const uint8_t *hp, *pp;
	struct wa_pw_hash ph;
	int r;

	if (charge(h, "pw_verify", WA_FUEL_HOST_CALL)) return -1;
	hp = wa_mem_range(m, hash, hashlen);
	pp = wa_mem_range(m, pw, pwlen);
	if (!hp || !pp) return trap(h, "pw_verify", "pointer out of bounds");
	if (charge(h, "pw_verify", WA_FUEL_PW_VERIFY + per32(hashlen, WA_FUEL_SCAN_32))) return -1;
	r = wa_pw_parse((const char *)hp, hashlen, &ph);
	if (r == WA_PW_TOO_COSTLY) {
		/* Never computed, never a match: one warning that names the cap. */
		char line[200];
		int n = pw_cap_warning(&ph, line, sizeof line);
		if (charge(h, "pw_verify", WA_FUEL_LOG_LINE)) return -1;
		guest_line(h, WA_LOG_WARNING, line, n > 0 ? (size_t)n : 0);
		*ret = 0;
		return 0;
	}
	if (r != 0) {
		*ret = -1;
		return 0;
	}
	/* The password is hashed once (the HMAC key, SHA-512's or Argon2's input), then the
	 * iterations or Argon2's blocks. */
	if (charge(h, "pw_verify",
	           per32(pwlen, WA_FUEL_HASH_32) + (ph.iterations ? WA_FUEL_PBKDF2 : 0) +
	               (uint64_t)ph.iterations * WA_FUEL_PBKDF2_ITERATION +
	               (ph.argon2_kib ? WA_FUEL_ARGON2 + (uint64_t)ph.argon2_kib * ph.argon2_passes * WA_FUEL_ARGON2_KIB
	                              : 0)))
		return -1;
	*ret = wa_pw_check(&ph, pp, pwlen);
	return 0;
}

/* The option name as a log line shows it: the guest chose these bytes, so at most
 * WA_OPTION_FILE_LOG_KEY_BYTES of them, each outside printable ASCII as '?' (the Node host
 * prints the same). */
static void shown_key(const uint8_t *k, uint32_t len, char *out, size_t cap)
{
	size_t n = len < WA_OPTION_FILE_LOG_KEY_BYTES ? len : WA_OPTION_FILE_LOG_KEY_BYTES;

	if (n > cap - 4) n = cap - 4;
	for (size_t i = 0; i < n; i++) out[i] = k[i] >= 0x20 && k[i] < 0x7f ? (char)k[i] : '?';
	strcpy(out + n, len > n ? "..." : "");
}

/* The path as a log line shows it: at most WA_OPTION_FILE_LOG_PATH_BYTES bytes, cut at a UTF-8
 * character boundary ("..." marks the cut); wa_log neutralises controls. */
static void shown_path(const char *p, size_t len, char *out, size_t cap)
{
	size_t n = len;

	if (n > WA_OPTION_FILE_LOG_PATH_BYTES) {
		n = WA_OPTION_FILE_LOG_PATH_BYTES;
		while (n > 0 && ((uint8_t)p[n] & 0xC0) == 0x80) n--;
	}
	if (n > cap - 4) n = cap - 4;
	memcpy(out, p, n);
	strcpy(out + n, n < len ? "..." : "");
}

static const char *errno_reason(int err, int32_t *code)
{
	switch (err) {
		case ENOENT:
		case ENOTDIR: *code = WA_OPTION_FILE_NOT_FOUND; return "not found";
		case EACCES:
		case EPERM: *code = WA_OPTION_FILE_PERMISSION; return "permission denied";
		default: *code = WA_OPTION_FILE_READ_ERROR; return NULL;
	}
}

/* "cannot be read (EIO)": errors other than the usual ones, by their errno name (the Node host
 * has the name, not strerror's text). */
static const char *errno_detail(int err, char *out, size_t cap)
{
	const char *name = strerrorname_np(err);

	snprintf(out, cap, "cannot be read (%s)", name ? name : "unknown error");
	return out;
}

/* Why option file `key` could not be read: one warning (docs/ABI.md, "Option files") through
 * the guest log rate limit, paid like a guest log line. 0, or -1 = trap (no fuel for it). */
static int option_file_failed(struct wa_host *h, const char *fn, const uint8_t *k, uint32_t keylen,
                              const struct wa_opt *o, const char *detail)
{
	char key[WA_OPTION_FILE_LOG_KEY_BYTES + 4], path[WA_OPTION_FILE_LOG_PATH_BYTES + 4], line[WA_MAX_LOG_BYTES];
	int n;

	if (charge(h, fn, WA_FUEL_LOG_LINE)) return -1;
	shown_key(k, keylen, key, sizeof key);
	if (o) {
		shown_path(o->value, o->valuelen, path, sizeof path);
		n = snprintf(line, sizeof line, "%s: option file %s (%s): %s", fn, key, path, detail);
	} else {
		n = snprintf(line, sizeof line, "%s: option file %s: %s", fn, key, detail);
	}
	/* The rate limit counts the line as written: controls in the path already neutralised. */
	guest_line(h, WA_LOG_WARNING, line, n > 0 ? wa_text_sanitize_controls(line, strlen(line)) : 0);
	return 0;
}

/* The option `key` names if the rules let a policy read it: only during plugin_init /
 * security_init, only keys ending in "_file" that are set. 0 with the option in *found and the
 * guest's key bytes in *kp; -1 with *code the guest's result (a WA_OPTION_FILE_* reason, logged
 * unless the option is just not set); -2 = trap (bad pointer, no fuel). */
static int find_option_file(struct wa_host *h, struct wa_mem m, const char *fn, uint32_t key, uint32_t keylen,
                            const uint8_t **kp, int32_t *code, const struct wa_opt **found)
{
	const uint8_t *k = wa_mem_range(m, key, keylen);
	const size_t suffix = sizeof OPTION_FILE_SUFFIX - 1;
	const struct wa_opt *o;
	const char *why;

	if (!k) {
		trap(h, fn, "pointer out of bounds");
		return -2;
	}
	*kp = k;
	if (!h->in_init || !h->opts) {
		*code = WA_OPTION_FILE_OUTSIDE_INIT;
		why = "option files can be read only in plugin_init and security_init";
		return option_file_failed(h, fn, k, keylen, NULL, why) ? -2 : -1;
	}
	if (keylen <= suffix || memcmp(k + keylen - suffix, OPTION_FILE_SUFFIX, suffix) != 0) {
		*code = WA_OPTION_FILE_NOT_FILE_OPTION;
		why = "not a file option (only options whose name ends in _file name files a policy may read)";
		return option_file_failed(h, fn, k, keylen, NULL, why) ? -2 : -1;
	}
	o = wa_options_find(h->opts, (const char *)k, keylen);
	if (!o || !o->valuelen) {
		/* Not logged: probing an optional setting is normal; the policy says when it needed it. */
		*code = WA_OPTION_FILE_ABSENT;
		return -1;
	}
	*found = o;
	return 0;
}

/* Opens the file option o names, once WA_FUEL_OPEN_FILE is paid: only a regular file of at most
 * `max` bytes (`max_name`, the cap a refusal names). Returns the fd (size in *size), or -1 with
 * *code the guest's result (logged), or -2 = trap (no fuel). */
static int open_found(struct wa_host *h, const char *fn, const uint8_t *k, uint32_t keylen, const struct wa_opt *o,
                      uint32_t max, const char *max_name, int64_t *size, int32_t *code)
{
	const char *why;
	char detail[128];
	struct stat st;
	int fd, err;

	if (charge(h, fn, WA_FUEL_OPEN_FILE)) return -2;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below). */
	fd = open(o->value, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		why = errno_reason(err, code);
		if (!why) why = errno_detail(err, detail, sizeof detail);
		return option_file_failed(h, fn, k, keylen, o, why) ? -2 : -1;
	}
	if (fstat(fd, &st) != 0) {
		err = errno;
		close(fd);
		*code = WA_OPTION_FILE_READ_ERROR;
		return option_file_failed(h, fn, k, keylen, o, errno_detail(err, detail, sizeof detail)) ? -2 : -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		*code = WA_OPTION_FILE_NOT_REGULAR;
		why = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
		return option_file_failed(h, fn, k, keylen, o, why) ? -2 : -1;
	}
	if (st.st_size > (off_t)max) {
		close(fd);
		*code = WA_OPTION_FILE_TOO_BIG;
		snprintf(detail, sizeof detail, "%jd bytes, above the cap of %u (%s)", (intmax_t)st.st_size, max,
		         max_name);
		return option_file_failed(h, fn, k, keylen, o, detail) ? -2 : -1;
	}
	*size = (int64_t)st.st_size;
	return fd;
}

/* Opens the file named by option `key` if the rules allow (find_option_file), up to
 * WA_MAX_OPTION_FILE_BYTES. Returns the fd (size in *size, the option in *found), or -1 with
 * *code the guest's result, or -2 = trap (bad pointer, no fuel). */
static int open_option_file(struct wa_host *h, struct wa_mem m, const char *fn, uint32_t key, uint32_t keylen,
                            int64_t *size, int32_t *code, const struct wa_opt **found)
{
	const uint8_t *k;
	int r = find_option_file(h, m, fn, key, keylen, &k, code, found);

	if (r) return r;
	return open_found(h, fn, k, keylen, *found, WA_MAX_OPTION_FILE_BYTES, "WA_MAX_OPTION_FILE_BYTES", size, code);
}

int wa_host_option_file_size(struct wa_host *h, struct wa_mem m, uint32_t key, uint32_t keylen, int32_t *ret)
{
	const struct wa_opt *o;
	int64_t size = 0;
	int32_t code = WA_OPTION_FILE_UNREADABLE;
	int fd;

	if (charge(h, "option_file_size", WA_FUEL_HOST_CALL)) return -1;
	fd = open_option_file(h, m, "option_file_size", key, keylen, &size, &code, &o);
	if (fd == -2) return -1;
	if (fd < 0) {
		*ret = code;
		return 0;
	}
	*ret = (int32_t)size;
	close(fd);
	return 0;
}

int wa_host_option_file_read(struct wa_host *h, struct wa_mem m, uint32_t key, uint32_t keylen, uint32_t buf,
                             uint32_t cap, int32_t *ret)
{
	const struct wa_opt *o;
	int64_t size = 0;
	int32_t code = WA_OPTION_FILE_UNREADABLE;
	uint8_t *dst;
	char detail[128];
	int fd, err = 0;
	size_t want, got = 0;

	if (charge(h, "option_file_read", WA_FUEL_HOST_CALL)) return -1;
	dst = wa_mem_range(m, buf, cap);
	if (!dst) return trap(h, "option_file_read", "buffer out of bounds");
	fd = open_option_file(h, m, "option_file_read", key, keylen, &size, &code, &o);
	if (fd == -2) return -1;
	if (fd < 0) {
		*ret = code;
		return 0;
	}
	want = (size_t)size < cap ? (size_t)size : cap;
	if (charge(h, "option_file_read", per32(want, WA_FUEL_COPY_32))) {
		close(fd);
		return -1;
	}
	while (got < want) {
		ssize_t r = read(fd, dst + got, want - got);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) err = errno;
		if (r <= 0) break;
		got += (size_t)r;
	}
	close(fd);
	if (got == want) {
		*ret = (int32_t)got;
		return 0;
	}
	/* Named by the option's own key: the read may have overwritten the guest's copy. */
	*ret = WA_OPTION_FILE_READ_ERROR;
	return option_file_failed(h, "option_file_read", (const uint8_t *)o->key, (uint32_t)o->keylen, o,
	                          err ? errno_detail(err, detail, sizeof detail) : "shrank while being read");
}

/* The file option o names, if option_file_read_at opened it during this init hook call. */
static struct wa_option_stream *stream_of(struct wa_host *h, const struct wa_opt *o)
{
	for (unsigned i = 0; i < WA_OPTION_FILE_STREAMS; i++) {
		if (h->streams[i].opt == o) return &h->streams[i];
	}
	return NULL;
}

/* Keeps fd open for option o: in a free entry, else in place of the file opened first. */
static struct wa_option_stream *stream_add(struct wa_host *h, const struct wa_opt *o, int fd, int64_t size)
{
	struct wa_option_stream *s = NULL;

	for (unsigned i = 0; i < WA_OPTION_FILE_STREAMS; i++) {
		struct wa_option_stream *t = &h->streams[i];
		if (!t->opt) {
			s = t;
			break;
		}
		if (!s || t->opened < s->opened) s = t;
	}
	if (s->opt) close(s->fd);
	s->opt = o;
	s->fd = fd;
	s->size = size;
	s->opened = ++h->streams_opened;
	return s;
}

void wa_host_option_files_close(struct wa_host *h)
{
	for (unsigned i = 0; i < WA_OPTION_FILE_STREAMS; i++) {
		if (h->streams[i].opt) close(h->streams[i].fd);
		h->streams[i].opt = NULL;
	}
	/* The next init hook call loads jwt_verify's keys anew (a reload may have changed them). */
	for (unsigned i = 0; i < WA_JWT_KEY_OPTIONS; i++) h->jwt[i].fresh = 0;
}

int wa_host_option_file_read_at(struct wa_host *h, struct wa_mem m, uint32_t key, uint32_t keylen, int64_t offset,
                                uint32_t buf, uint32_t cap, int32_t *ret)
{
	static const char fn[] = "option_file_read_at";
	const struct wa_opt *o = NULL;
	struct wa_option_stream *s;
	const uint8_t *k;
	int32_t code = WA_OPTION_FILE_UNREADABLE;
	uint8_t *dst;
	char detail[128];
	int r, err = 0;
	size_t want = 0, got = 0;

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	if (offset < 0) return trap(h, fn, "negative offset");
	dst = wa_mem_range(m, buf, cap);
	if (!dst) return trap(h, fn, "buffer out of bounds");
	r = find_option_file(h, m, fn, key, keylen, &k, &code, &o);
	if (r == -2) return -1;
	if (r < 0) {
		*ret = code;
		return 0;
	}
	s = stream_of(h, o);
	if (!s) {
		int64_t size = 0;
		int fd = open_found(h, fn, k, keylen, o, WA_MAX_OPTION_FILE_STREAM_BYTES,
		                    "WA_MAX_OPTION_FILE_STREAM_BYTES", &size, &code);
		if (fd == -2) return -1;
		if (fd < 0) {
			*ret = code;
			return 0;
		}
		s = stream_add(h, o, fd, size);
	}
	/* The size at open bounds every read: a file grown since cannot take the policy past the
	 * cap, and the price is known before the read. */
	if (offset < s->size) want = (uint64_t)(s->size - offset) < cap ? (size_t)(s->size - offset) : cap;
	if (charge(h, fn, per32(want, WA_FUEL_COPY_32))) return -1;
	while (got < want) {
		ssize_t n = pread(s->fd, dst + got, want - got, (off_t)(offset + (int64_t)got));
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) err = errno;
		/* 0: the file shrank since it was opened; what there was is the answer. */
		if (n <= 0) break;
		got += (size_t)n;
	}
	if (err) {
		*ret = WA_OPTION_FILE_READ_ERROR;
		/* Named by the option's own key: the read may have overwritten the guest's copy. */
		return option_file_failed(h, fn, (const uint8_t *)o->key, (uint32_t)o->keylen, o,
		                          errno_detail(err, detail, sizeof detail));
	}
	*ret = (int32_t)got;
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

/* The byte length of the guest string at ptr, 0 if it cannot be read. */
static uint32_t guest_text_bytes(struct wa_mem m, uint32_t ptr)
{
	const uint8_t *data;
	uint32_t len;

	return wa_mem_string(m, ptr, &data, &len) == 0 ? len : 0;
}

int wa_host_abort(struct wa_host *h, struct wa_mem m, uint32_t msg, uint32_t file, uint32_t line, uint32_t col)
{
	char text[WA_MAX_LOG_BYTES + 1], where[WA_MAX_LOG_BYTES + 1];

	/* Free: the call ends here whatever happens, its message is only the trap's reason (which
	 * policy.c logs, rate-limited), and the work is bounded by WA_MAX_LOG_BYTES. */
	guest_text(m, msg, text, sizeof text);
	guest_text(m, file, where, sizeof where);
	snprintf(h->trap, sizeof h->trap, "abort: %s at %s:%u:%u", text, where, line, col);
	return -1;
}

int wa_host_trace(struct wa_host *h, struct wa_mem m, uint32_t msg, int32_t n, const double a[5])
{
	char text[WA_MAX_LOG_BYTES + 1], line[WA_MAX_LOG_BYTES + 160];
	int32_t args = n < 0 ? 0 : n > 5 ? 5 : n;
	int off;

	if (charge(h, "trace", WA_FUEL_HOST_CALL)) return -1;
	if (charge(h, "trace",
	           text_price(guest_text_bytes(m, msg)) + WA_FUEL_LOG_LINE + (uint64_t)args * WA_FUEL_TRACE_ARG))
		return -1;
	guest_text(m, msg, text, sizeof text);
	off = snprintf(line, sizeof line, "trace: %s", text);
	for (int32_t i = 0; i < args && off > 0 && (size_t)off < sizeof line; i++) {
		off += snprintf(line + off, sizeof line - (size_t)off, "%s%.17g", i ? ", " : " ", a[i]);
	}
	guest_line(h, WA_LOG_DEBUG, line, strlen(line));
	return 0;
}

/* Reasons are mostly ASCII and set on every denial: eight bytes per test before the full check. */
static int reason_valid(const uint8_t *b, uint32_t n)
{
	uint64_t any = 0, w;
	uint32_t i = 0;

	for (; i + 8u <= n; i += 8u) {
		memcpy(&w, b + i, 8);
		any |= w;
	}
	for (; i < n; i++) any |= b[i];
	return !(any & 0x8080808080808080ull) || wa_utf8_valid(b, n);
}

/* Only the kept prefix is looked at (and paid for): a guest cannot make the host scan a long
 * string it will not keep. */
int wa_host_set_reason(struct wa_host *h, struct wa_mem m, uint32_t ptr, uint32_t len, int32_t *ret)
{
	static const char fn[] = "set_reason";
	const uint8_t *b;
	uint32_t n = len;

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	b = wa_mem_range(m, ptr, len);
	if (!b) return trap(h, fn, "pointer out of bounds");
	if (n > WA_MAX_REASON_BYTES) {
		/* Back to the start of the character cut (at most 3 continuation bytes in valid UTF-8). */
		n = WA_MAX_REASON_BYTES;
		for (unsigned k = 0; k < 3u && (b[n] & 0xC0u) == 0x80u; k++) n--;
	}
	if (charge(h, fn, per32(n, WA_FUEL_SCAN_32))) return -1;
	if (!reason_valid(b, n)) {
		h->reason_len = 0;
		*ret = WA_REASON_INVALID;
		return 0;
	}
	memcpy(h->reason, b, n);
	h->reason_len = n;
	*ret = (int32_t)n;
	return 0;
}

int wa_host_reasons_wanted(struct wa_host *h, int32_t *ret)
{
	if (charge(h, "reasons_wanted", WA_FUEL_HOST_CALL)) return -1;
	*ret = h->reasons_wanted;
	return 0;
}

int wa_host_seed(struct wa_host *h, double *ret)
{
	uint64_t r;

	if (charge(h, "seed", WA_FUEL_HOST_CALL + WA_FUEL_SEED)) return -1;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) return trap(h, "seed", "getrandom failed");
	/* 53 random bits: every value is an exact, finite double. */
	*ret = (double)(r >> 11);
	return 0;
}

int wa_host_date_now(struct wa_host *h, double *ret)
{
	struct timespec ts;

	if (charge(h, "Date.now", WA_FUEL_HOST_CALL + WA_FUEL_CLOCK)) return -1;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return trap(h, "Date.now", "clock_gettime failed");
	*ret = (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
	return 0;
}

/* ---- deferred actions (docs/ABI.md, "Deferred actions") --------------------------------------
 * The guest asks; the host validates, rate-limits and copies the request into a bounded queue
 * that the embedder empties on the broker's main thread (the plugin: at every MOSQ_EVT_TICK), so
 * no mosquitto function is ever called from a guest call, nor from the worker thread that runs
 * init hooks. */

int wa_action_rate_take(struct wa_rate_limit *r, uint64_t now, unsigned per_s, unsigned burst)
{
	uint64_t elapsed = less(now, r->last_ms);

	if (now > r->last_ms) r->last_ms = now;
	r->debt = less(r->debt, elapsed * per_s);
	if (r->debt + 1000u > (uint64_t)burst * 1000u) return 0;
	r->debt += 1000u;
	return 1;
}

static const char *const action_fn[] = { "kick_client", "kick_user", "publish" };

/* At most one line per function and reason per WA_ERROR_LOG_INTERVAL_S; the next says how many were not
 * logged. Paid like a guest log line when written. 0, or -1 = trap (no fuel). */
static int action_refused(struct wa_host *h, enum wa_action_kind kind, int32_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int action_refused(struct wa_host *h, enum wa_action_kind kind, int32_t code, const char *fmt, ...)
{
	struct wa_actions *q = &h->actions;
	unsigned r = (unsigned)-code;
	uint64_t now = now_ms();
	char line[WA_MAX_LOG_BYTES];
	va_list ap;

	if (q->warned[kind][r] && now - q->warned_ms[kind][r] < WA_ERROR_LOG_INTERVAL_S * 1000ull) {
		q->unwarned[kind][r]++;
		return 0;
	}
	if (charge(h, action_fn[kind], WA_FUEL_LOG_LINE)) return -1;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (q->unwarned[kind][r]) {
		wa_log(WA_LOG_WARNING, "%s: %s (%" PRIu64 " more refused in the last %u s not logged)", action_fn[kind],
		       line, q->unwarned[kind][r], (unsigned)((now - q->warned_ms[kind][r]) / 1000u));
	} else {
		wa_log(WA_LOG_WARNING, "%s: %s", action_fn[kind], line);
	}
	q->warned[kind][r] = 1;
	q->warned_ms[kind][r] = now;
	q->unwarned[kind][r] = 0;
	return 0;
}

/* What a refusal line shows of the guest's id or topic: at most WA_ACTION_LOG_TOPIC_BYTES bytes,
 * each outside printable ASCII as '?' (as option file keys are shown). */
static const char *shown_target(const uint8_t *b, uint32_t len, char *out, size_t cap)
{
	size_t n = len < WA_ACTION_LOG_TOPIC_BYTES ? len : WA_ACTION_LOG_TOPIC_BYTES;

	if (n > cap - 4) n = cap - 4;
	for (size_t i = 0; i < n; i++) out[i] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
	strcpy(out + n, len > n ? "..." : "");
	return out;
}

/* Queues one action with copies of its bytes, or refuses it (rate, queue). 0, or -1 = trap. */
static int enqueue(struct wa_host *h, enum wa_action_kind kind, const uint8_t *target, uint32_t tlen,
                   const uint8_t *payload, uint32_t plen, int qos, int retain, int32_t *ret)
{
	struct wa_actions *q = &h->actions;
	const int kick = kind != WA_ACTION_PUBLISH;
	size_t size = (size_t)tlen + 1u + plen;
	struct wa_action *a;
	char shown[WA_ACTION_LOG_TOPIC_BYTES + 4];

	if (q->count >= WA_ACTION_QUEUE_ENTRIES || size > WA_ACTION_QUEUE_BYTES - q->bytes) {
		*ret = WA_ACTION_QUEUE_FULL;
		return action_refused(
		    h, kind, *ret, "%s refused: the queue of deferred actions is full (%u actions, %u bytes)",
		    shown_target(target, tlen, shown, sizeof shown), WA_ACTION_QUEUE_ENTRIES, WA_ACTION_QUEUE_BYTES);
	}
	if (!wa_action_rate_take(kick ? &q->kicks : &q->publishes, now_ms(), kick ? WA_KICKS_PER_S : WA_PUBLISHES_PER_S,
	                         kick ? WA_KICKS_BURST : WA_PUBLISHES_BURST)) {
		*ret = WA_ACTION_RATE_LIMITED;
		return action_refused(h, kind, *ret, "%s refused: more than %u %s per second (bursts of %u)",
		                      shown_target(target, tlen, shown, sizeof shown),
		                      kick ? WA_KICKS_PER_S : WA_PUBLISHES_PER_S, kick ? "kicks" : "publishes",
		                      kick ? WA_KICKS_BURST : WA_PUBLISHES_BURST);
	}
	if (charge(h, action_fn[kind], per32(size, WA_FUEL_COPY_32))) return -1;
	a = &q->items[q->count];
	memset(a, 0, sizeof *a);
	a->target = malloc((size_t)tlen + 1u);
	if (plen) a->payload = malloc(plen);
	if (!a->target || (plen && !a->payload)) {
		free(a->target);
		free(a->payload);
		*ret = WA_ACTION_QUEUE_FULL; /* out of memory: the queue holds no more */
		return 0;
	}
	memcpy(a->target, target, tlen);
	a->target[tlen] = '\0';
	if (plen) memcpy(a->payload, payload, plen);
	a->kind = kind;
	a->payloadlen = plen;
	a->qos = qos;
	a->retain = retain;
	q->count++;
	q->bytes += size;
	if (q->wake) *q->wake = 0;
	*ret = WA_ACTION_QUEUED;
	return 0;
}

static int kick(struct wa_host *h, struct wa_mem m, enum wa_action_kind kind, uint32_t ptr, uint32_t len, int32_t *ret)
{
	const uint8_t *b;

	if (charge(h, action_fn[kind], WA_FUEL_HOST_CALL + WA_FUEL_ACTION)) return -1;
	b = wa_mem_range(m, ptr, len);
	if (!b) return trap(h, action_fn[kind], "pointer out of bounds");
	if (charge(h, action_fn[kind], per32(len, WA_FUEL_SCAN_32))) return -1;
	/* Empty or with a NUL: mosquitto takes a C string, and its NULL / "" would mean every client. */
	if (len == 0 || len > WA_MAX_FIELD_BYTES || memchr(b, '\0', len)) {
		*ret = WA_ACTION_INVALID;
		return action_refused(h, kind, *ret, "refused: %s",
		                      len == 0 ? "empty name" : "a name longer than 65535 bytes or holding a NUL byte");
	}
	return enqueue(h, kind, b, len, NULL, 0, 0, 0, ret);
}

int wa_host_kick_client(struct wa_host *h, struct wa_mem m, uint32_t id, uint32_t idlen, int32_t *ret)
{
	return kick(h, m, WA_ACTION_KICK_CLIENT, id, idlen, ret);
}

int wa_host_kick_user(struct wa_host *h, struct wa_mem m, uint32_t name, uint32_t namelen, int32_t *ret)
{
	return kick(h, m, WA_ACTION_KICK_USER, name, namelen, ret);
}

int wa_host_publish(struct wa_host *h, struct wa_mem m, uint32_t topic, uint32_t topiclen, uint32_t payload,
                    uint32_t payloadlen, int32_t qos, int32_t retain, int32_t *ret)
{
	static const char fn[] = "publish";
	const enum wa_action_kind kind = WA_ACTION_PUBLISH;
	char shown[WA_ACTION_LOG_TOPIC_BYTES + 4];
	const uint8_t *t, *p;
	size_t n = h->publish_prefix_len;

	if (charge(h, fn, WA_FUEL_HOST_CALL + WA_FUEL_ACTION)) return -1;
	t = wa_mem_range(m, topic, topiclen);
	p = wa_mem_range(m, payload, payloadlen);
	if (!t || !p) return trap(h, fn, "pointer out of bounds");
	if (charge(h, fn, per32(topiclen, WA_FUEL_SCAN_32))) return -1;
	if (!h->publish_prefix) {
		*ret = WA_ACTION_NO_PREFIX;
		return action_refused(
		    h, kind, *ret,
		    "%s refused: plugin_opt_wasm_publish_prefix is not set (a policy may publish only "
		    "under the topic prefix it names)",
		    shown_target(t, topiclen, shown, sizeof shown));
	}
	if (topiclen > WA_MAX_FIELD_BYTES || (qos < 0 || qos > 2) || (retain != 0 && retain != 1) ||
	    wa_topic_matches_sub((const char *)t, topiclen, (const char *)t, topiclen) != 1 ||
	    !wa_utf8_valid(t, topiclen)) {
		*ret = WA_ACTION_INVALID;
		return action_refused(
		    h, kind, *ret,
		    "%s refused: not a topic to publish to, or qos %d / retain %d out of range (an MQTT "
		    "topic: UTF-8, no + or #, no NUL, 1 to 65535 bytes; qos 0-2; retain 0 or 1)",
		    shown_target(t, topiclen, shown, sizeof shown), qos, retain);
	}
	/* Under the prefix on a level boundary: the prefix itself, or the prefix, '/', more. */
	if (topiclen < n || memcmp(t, h->publish_prefix, n) != 0 || (topiclen > n && t[n] != '/')) {
		*ret = WA_ACTION_OUTSIDE_PREFIX;
		return action_refused(h, kind, *ret, "%s refused: outside wasm_publish_prefix %.*s",
		                      shown_target(t, topiclen, shown, sizeof shown), (int)n, h->publish_prefix);
	}
	if (payloadlen > h->max_payload) {
		*ret = WA_ACTION_TOO_LARGE;
		return action_refused(h, kind, *ret, "%s refused: payload of %u bytes above wasm_max_payload (%u)",
		                      shown_target(t, topiclen, shown, sizeof shown), payloadlen, h->max_payload);
	}
	return enqueue(h, kind, t, topiclen, p, payloadlen, qos, retain, ret);
}

/* ---- message rewrites (docs/ABI.md, "Message hook") -------------------------------------------
 * Staged in host copies, never in guest memory: the guest may change its memory after the call,
 * and the broker gets the rewrite only if on_message then allows the message. */

/* A topic one may publish to (as publish checks it), and not a '$' topic: a client may not
 * publish to $SYS or $CONTROL, so neither may a rewrite of its message. */
static int rewrite_topic_ok(const uint8_t *t, uint32_t len)
{
	return len > 0 && len <= WA_MAX_FIELD_BYTES && t[0] != '$' && !memchr(t, '\0', len) &&
	       wa_topic_matches_sub((const char *)t, len, (const char *)t, len) == 1 && wa_utf8_valid(t, len);
}

/* What message_set_topic and subscribe_set_topic share: outside their hook a trap; else priced
 * by length, in bounds, accepted by ok (else a trap saying what), copied with a NUL into *dst
 * (replacing what was staged). */
static int stage_topic(struct wa_host *h, const char *fn, int active, const char *outside, struct wa_mem m,
                       uint32_t topic, uint32_t topiclen, int (*ok)(const uint8_t *t, uint32_t len), const char *not_ok,
                       char **dst, uint32_t *dstlen)
{
	const uint8_t *t;
	char *copy;

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	if (!active) return trap(h, fn, outside);
	t = wa_mem_range(m, topic, topiclen);
	if (!t) return trap(h, fn, "pointer out of bounds");
	if (charge(h, fn, per32(topiclen, WA_FUEL_SCAN_32))) return -1;
	if (!ok(t, topiclen)) return trap(h, fn, not_ok);
	copy = malloc((size_t)topiclen + 1u);
	if (!copy) return trap(h, fn, "out of memory");
	memcpy(copy, t, topiclen);
	copy[topiclen] = '\0';
	free(*dst);
	*dst = copy;
	*dstlen = topiclen;
	return 0;
}

int wa_host_message_set_topic(struct wa_host *h, struct wa_mem m, uint32_t topic, uint32_t topiclen)
{
	struct wa_message_rewrite *r = &h->rewrite;

	return stage_topic(
	    h, "message_set_topic", r->active, "called outside on_message", m, topic, topiclen, rewrite_topic_ok,
	    "not a topic to publish to (UTF-8, no + or #, no NUL, not starting with $, 1 to 65535 bytes)", &r->topic,
	    &r->topiclen);
}

int wa_host_message_set_payload(struct wa_host *h, struct wa_mem m, uint32_t payload, uint32_t payloadlen)
{
	static const char fn[] = "message_set_payload";
	struct wa_message_rewrite *r = &h->rewrite;
	const uint8_t *p;
	uint8_t *copy = NULL;

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	if (!r->active) return trap(h, fn, "called outside on_message");
	p = wa_mem_range(m, payload, payloadlen);
	if (!p) return trap(h, fn, "pointer out of bounds");
	if (payloadlen > h->max_payload) {
		snprintf(h->trap, sizeof h->trap, "%s: payload of %u bytes above wasm_max_payload (%u)", fn, payloadlen,
		         h->max_payload);
		return -1;
	}
	if (charge(h, fn, per32(payloadlen, WA_FUEL_REWRITE_COPY_32))) return -1;
	if (payloadlen) {
		copy = malloc((size_t)payloadlen + 1u);
		if (!copy) return trap(h, fn, "out of memory");
		memcpy(copy, p, payloadlen);
		copy[payloadlen] = 0;
	}
	free(r->payload);
	r->payload = copy;
	r->payloadlen = payloadlen;
	r->has_payload = 1;
	return 0;
}

int wa_host_message_set_retain(struct wa_host *h, int32_t retain)
{
	static const char fn[] = "message_set_retain";

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	if (!h->rewrite.active) return trap(h, fn, "called outside on_message");
	if (retain != 0 && retain != 1) {
		snprintf(h->trap, sizeof h->trap, "%s: retain %d is not 0 or 1", fn, retain);
		return -1;
	}
	h->rewrite.retain = retain;
	return 0;
}

void wa_host_message_clear(struct wa_host *h, int active)
{
	struct wa_message_rewrite *r = &h->rewrite;

	free(r->topic);
	free(r->payload);
	memset(r, 0, sizeof *r);
	r->retain = -1;
	r->active = active;
}

/* ---- subscription rewrites (docs/ABI.md, "Per-subscriber and subscription hooks") ------------
 * Staged like message rewrites: host copies, handed to the broker only if on_subscribe allows. */

/* A filter one may subscribe to. */
static int rewrite_filter_ok(const uint8_t *t, uint32_t len)
{
	return len <= WA_MAX_FIELD_BYTES && wa_filter_valid(t, len) && wa_utf8_valid(t, len);
}

int wa_host_subscribe_set_topic(struct wa_host *h, struct wa_mem m, uint32_t topic, uint32_t topiclen)
{
	struct wa_subscribe_rewrite *r = &h->sub_rewrite;

	return stage_topic(h, "subscribe_set_topic", r->active, "called outside on_subscribe", m, topic, topiclen,
	                   rewrite_filter_ok,
	                   "not a subscription filter (UTF-8, + and # alone in their level, # last, no NUL, 1 to 65535 "
	                   "bytes)",
	                   &r->topic, &r->topiclen);
}

int wa_host_subscribe_set_qos(struct wa_host *h, int32_t qos)
{
	static const char fn[] = "subscribe_set_qos";

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	if (!h->sub_rewrite.active) return trap(h, fn, "called outside on_subscribe");
	if (qos < 0 || qos > 2) {
		snprintf(h->trap, sizeof h->trap, "%s: qos %d is not 0, 1 or 2", fn, qos);
		return -1;
	}
	h->sub_rewrite.qos = qos;
	return 0;
}

void wa_host_subscribe_clear(struct wa_host *h, int active)
{
	struct wa_subscribe_rewrite *r = &h->sub_rewrite;

	free(r->topic);
	memset(r, 0, sizeof *r);
	r->qos = -1;
	r->active = active;
}

unsigned wa_host_actions_count(const struct wa_host *h)
{
	return h->actions.count;
}

void wa_host_actions_truncate(struct wa_host *h, unsigned keep)
{
	struct wa_actions *q = &h->actions;

	while (q->count > keep) {
		struct wa_action *a = &q->items[--q->count];
		q->bytes -= strlen(a->target) + 1u + a->payloadlen;
		free(a->target);
		free(a->payload);
	}
}

void wa_host_actions_take(struct wa_host *h, void (*run)(const struct wa_action *a, void *ud), void *ud)
{
	struct wa_actions *q = &h->actions;

	for (unsigned i = 0; i < q->count; i++) {
		if (run) run(&q->items[i], ud);
		free(q->items[i].target);
		free(q->items[i].payload);
	}
	q->count = 0;
	q->bytes = 0;
}

void wa_host_jwt_free(struct wa_host *h)
{
	for (unsigned i = 0; i < WA_JWT_KEY_OPTIONS; i++) {
		wa_jwt_keyset_free(h->jwt[i].keys);
		h->jwt[i].keys = NULL;
		h->jwt[i].opt = NULL;
	}
}

/* One jwt_verify refusal: a warning through the guest log rate limit, paid like a guest log
 * line. 0 with *ret = code, or -1 = trap (no fuel for it). */
static int jwt_failed(struct wa_host *h, const uint8_t *k, uint32_t keylen, const char *detail, int32_t code,
                      int32_t *ret)
{
	char key[WA_OPTION_FILE_LOG_KEY_BYTES + 4], line[WA_MAX_LOG_BYTES];
	int n;

	if (charge(h, "jwt_verify", WA_FUEL_LOG_LINE)) return -1;
	shown_key(k, keylen, key, sizeof key);
	n = snprintf(line, sizeof line, "jwt_verify (%s): %s", key, detail);
	guest_line(h, WA_LOG_WARNING, line, n > 0 ? wa_text_sanitize_controls(line, strlen(line)) : 0);
	*ret = code;
	return 0;
}

/* Reads and parses option o's key file into slot c (init hook calls only), paying for it first:
 * opening, reading and scanning the file, and building its keys (a JWKS as WA_JWT_MAX_KEYS).
 * 0, or -1 with detail (c->keys NULL), or -2 = trap. */
static int jwt_load(struct wa_host *h, const struct wa_opt *o, struct wa_jwt_cached *c, char *detail, size_t cap)
{
	char path[WA_OPTION_FILE_LOG_PATH_BYTES + 4], why[200];
	int64_t size = 0;
	int32_t code;
	uint8_t *data;
	unsigned keys;
	size_t got = 0;
	int fd, err = 0;
	const uint8_t *s;
	struct stat st;

	wa_jwt_keyset_free(c->keys);
	c->keys = NULL;
	c->fresh = 1;
	shown_path(o->value, o->valuelen, path, sizeof path);
	if (charge(h, "jwt_verify", WA_FUEL_OPEN_FILE)) return -2;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below). */
	fd = open(o->value, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		const char *r = errno_reason(err, &code);
		snprintf(detail, cap, "key file %s: %s", path, r ? r : errno_detail(err, why, sizeof why));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(detail, cap, "key file %s: not a regular file", path);
		return -1;
	}
	if (st.st_size > (off_t)WA_JWT_MAX_KEY_FILE_BYTES) {
		close(fd);
		snprintf(detail, cap, "key file %s: %jd bytes, above the cap of %u (WA_JWT_MAX_KEY_FILE_BYTES)", path,
		         (intmax_t)st.st_size, WA_JWT_MAX_KEY_FILE_BYTES);
		return -1;
	}
	size = st.st_size;
	/* Reading and scanning the file, and the keys it may hold: a file whose text starts with
	 * '{' is a JWKS, priced as WA_JWT_MAX_KEYS keys before its keys are counted. */
	data = malloc(size ? (size_t)size : 1);
	if (!data) {
		close(fd);
		snprintf(detail, cap, "key file %s: out of memory", path);
		return -1;
	}
	if (charge(h, "jwt_verify", per32((uint64_t)size, WA_FUEL_COPY_32 + WA_FUEL_SCAN_32))) {
		close(fd);
		free(data);
		return -2;
	}
	while (got < (size_t)size) {
		ssize_t r = read(fd, data + got, (size_t)size - got);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) err = errno;
		if (r <= 0) break;
		got += (size_t)r;
	}
	close(fd);
	if (err || got != (size_t)size) {
		OPENSSL_cleanse(data, (size_t)size);
		free(data);
		snprintf(detail, cap, "key file %s: %s", path,
		         err ? errno_detail(err, why, sizeof why) : "shrank while being read");
		return -1;
	}
	s = data;
	while (s < data + got && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
	if (charge(h, "jwt_verify", (uint64_t)WA_FUEL_JWT_KEY * (s < data + got && *s == '{' ? WA_JWT_MAX_KEYS : 1u))) {
		OPENSSL_cleanse(data, got);
		free(data);
		return -2;
	}
	if (wa_jwt_keyset_parse(data, got, &c->keys, &keys, why, sizeof why))
		snprintf(detail, cap, "key file %s: %s", path, why);
	OPENSSL_cleanse(data, got); /* it may be an HMAC secret */
	free(data);
	return c->keys ? 0 : -1;
}

/* The keys of key option `k`: loaded during init hook calls (once per call), looked up outside.
 * 0 with *ks, or -1 with *ret the guest's result (logged), or -2 = trap. */
static int jwt_keys(struct wa_host *h, const uint8_t *k, uint32_t keylen, const struct wa_jwt_keyset **ks, int32_t *ret)
{
	const size_t suffix = sizeof OPTION_FILE_SUFFIX - 1;
	const struct wa_opt *o;
	struct wa_jwt_cached *c = NULL;
	char detail[WA_MAX_LOG_BYTES];

	if (keylen <= suffix || memcmp(k + keylen - suffix, OPTION_FILE_SUFFIX, suffix) != 0) {
		return jwt_failed(h, k, keylen, "not a file option (a key option's name ends in _file)",
		                  WA_JWT_KEY_FILE, ret)
		           ? -2
		           : -1;
	}
	o = h->opts ? wa_options_find(h->opts, (const char *)k, keylen) : NULL;
	if (!o || !o->valuelen) return jwt_failed(h, k, keylen, "option not set", WA_JWT_KEY_FILE, ret) ? -2 : -1;
	for (unsigned i = 0; i < WA_JWT_KEY_OPTIONS && !c; i++) {
		if (h->jwt[i].opt == o) c = &h->jwt[i];
	}
	if (!c && h->in_init) {
		for (unsigned i = 0; i < WA_JWT_KEY_OPTIONS && !c; i++) {
			if (!h->jwt[i].opt) c = &h->jwt[i];
		}
		if (!c) {
			snprintf(detail, sizeof detail, "more than %u key options (WA_JWT_KEY_OPTIONS)",
			         WA_JWT_KEY_OPTIONS);
			return jwt_failed(h, k, keylen, detail, WA_JWT_KEY_FILE, ret) ? -2 : -1;
		}
		c->opt = o;
	}
	if (!c) {
		return jwt_failed(h, k, keylen, "keys not loaded (they load in plugin_init or security_init)",
		                  WA_JWT_KEY_FILE, ret)
		           ? -2
		           : -1;
	}
	if (h->in_init && !c->fresh) {
		int r = jwt_load(h, o, c, detail, sizeof detail);
		if (r == -2) return -2;
		if (r) return jwt_failed(h, k, keylen, detail, WA_JWT_KEY_FILE, ret) ? -2 : -1;
	}
	if (!c->keys) {
		return jwt_failed(h, k, keylen, "keys not loaded (the key file was refused at init)", WA_JWT_KEY_FILE,
		                  ret)
		           ? -2
		           : -1;
	}
	*ks = c->keys;
	return 0;
}

int wa_host_jwt_verify(struct wa_host *h, struct wa_mem m, uint32_t tok, uint32_t toklen, uint32_t key, uint32_t keylen,
                       int32_t leeway, uint32_t out, uint32_t cap, int32_t *ret)
{
	static const char fn[] = "jwt_verify";
	const struct wa_jwt_keyset *ks = NULL;
	const uint8_t *tp, *kp;
	uint8_t *dst;
	struct wa_jwt_token t;
	char detail[WA_MAX_LOG_BYTES];
	struct timespec now;
	int r, kidx;

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	tp = wa_mem_range(m, tok, toklen);
	kp = wa_mem_range(m, key, keylen);
	dst = wa_mem_range(m, out, cap);
	if (!tp || !kp) return trap(h, fn, "pointer out of bounds");
	if (!dst) return trap(h, fn, "buffer out of bounds");
	r = jwt_keys(h, kp, keylen, &ks, ret);
	if (r == -2) return -1;
	if (r) return 0;
	if (toklen == 0) {
		*ret = 0; /* the keys are loaded: what an empty token asks */
		return 0;
	}
	/* Decoding the three parts and reading the header, before anything else. Over the cap the
	 * length alone is the answer: nothing is read. */
	if (toklen <= WA_MAX_JWT_BYTES && charge(h, fn, per32(toklen, WA_FUEL_SCAN_32))) return -1;
	r = wa_jwt_parse(tp, toklen, &t, detail, sizeof detail);
	if (r) return jwt_failed(h, kp, keylen, detail, r, ret);
	kidx = wa_jwt_select(ks, &t, detail, sizeof detail);
	if (kidx < 0) return jwt_failed(h, kp, keylen, detail, kidx, ret);
	if (charge(h, fn, wa_jwt_price(ks, kidx, &t))) return -1;
	if (wa_jwt_check_signature(ks, kidx, &t, tp))
		return jwt_failed(h, kp, keylen, "bad signature", WA_JWT_BAD_SIGNATURE, ret);
	/* The claims are parsed after the signature: only what the key holder signed is read. */
	if (charge(h, fn, per32(t.payloadlen, WA_FUEL_SCAN_32) + WA_FUEL_CLOCK)) return -1;
	clock_gettime(CLOCK_REALTIME, &now);
	r = wa_jwt_check_claims(&t, (int64_t)now.tv_sec, leeway, detail, sizeof detail);
	if (r) return jwt_failed(h, kp, keylen, detail, r, ret);
	if (charge(h, fn, per32(t.payloadlen, WA_FUEL_COPY_32))) return -1;
	memcpy(dst, t.payload, t.payloadlen < cap ? t.payloadlen : cap);
	*ret = (int32_t)t.payloadlen;
	return 0;
}

int wa_host_auth_data_out(struct wa_host *h, struct wa_mem m, uint32_t ptr, uint32_t len, int32_t *ret)
{
	static const char fn[] = "auth_data_out";
	const uint8_t *src;

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	src = wa_mem_range(m, ptr, len);
	if (!src) return trap(h, fn, "pointer out of bounds");
	if (!h->in_ext_auth) {
		*ret = WA_AUTH_DATA_OUTSIDE_HOOK;
		return 0;
	}
	if (len > WA_MAX_AUTH_DATA_BYTES) {
		*ret = WA_AUTH_DATA_TOO_LARGE;
		return 0;
	}
	if (charge(h, fn, per32(len, WA_FUEL_COPY_32))) return -1;
	memcpy(h->auth_out, src, len);
	h->auth_out_len = len;
	*ret = 0;
	return 0;
}

/* The 32-byte result's place: checked before any work, like every guest pointer. */
static uint8_t *digest_out(struct wa_host *h, struct wa_mem m, const char *fn, uint32_t out)
{
	uint8_t *dst = wa_mem_range(m, out, WA_SHA256_BYTES);
	if (!dst) trap(h, fn, "buffer out of bounds");
	return dst;
}

static int32_t crypto_result(int r)
{
	return r == 0 ? 0 : WA_CRYPTO_FAILED;
}

int wa_host_sha256(struct wa_host *h, struct wa_mem m, uint32_t msg, uint32_t msglen, uint32_t out, int32_t *ret)
{
	static const char fn[] = "sha256";
	const uint8_t *mp;
	uint8_t *dst, digest[WA_SHA256_BYTES];

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	mp = wa_mem_range(m, msg, msglen);
	if (!mp) return trap(h, fn, "pointer out of bounds");
	dst = digest_out(h, m, fn, out);
	if (!dst) return -1;
	if (msglen > WA_MAX_CRYPTO_INPUT_BYTES) {
		*ret = WA_CRYPTO_TOO_LARGE;
		return 0;
	}
	if (charge(h, fn, WA_FUEL_DIGEST + per32(msglen, WA_FUEL_HASH_32))) return -1;
	*ret = crypto_result(wa_sha256(mp, msglen, digest));
	if (*ret == 0) memcpy(dst, digest, sizeof digest);
	return 0;
}

int wa_host_hmac_sha256(struct wa_host *h, struct wa_mem m, uint32_t key, uint32_t keylen, uint32_t msg,
                        uint32_t msglen, uint32_t out, int32_t *ret)
{
	static const char fn[] = "hmac_sha256";
	const uint8_t *kp, *mp;
	uint8_t *dst, digest[WA_SHA256_BYTES];

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	kp = wa_mem_range(m, key, keylen);
	mp = wa_mem_range(m, msg, msglen);
	if (!kp || !mp) return trap(h, fn, "pointer out of bounds");
	dst = digest_out(h, m, fn, out);
	if (!dst) return -1;
	if (keylen > WA_MAX_CRYPTO_INPUT_BYTES || msglen > WA_MAX_CRYPTO_INPUT_BYTES) {
		*ret = WA_CRYPTO_TOO_LARGE;
		return 0;
	}
	/* A key longer than a block is hashed first; the message once, inner and outer pads. */
	if (charge(h, fn, WA_FUEL_DIGEST + per32((uint64_t)keylen + msglen, WA_FUEL_HASH_32))) return -1;
	*ret = crypto_result(wa_hmac_sha256(kp, keylen, mp, msglen, digest));
	if (*ret == 0) memcpy(dst, digest, sizeof digest);
	return 0;
}

int wa_host_pbkdf2_sha256(struct wa_host *h, struct wa_mem m, uint32_t pw, uint32_t pwlen, uint32_t salt,
                          uint32_t saltlen, uint32_t iterations, uint32_t out, int32_t *ret)
{
	static const char fn[] = "pbkdf2_sha256";
	const uint8_t *pp, *sp;
	uint8_t *dst, digest[WA_SHA256_BYTES];

	if (charge(h, fn, WA_FUEL_HOST_CALL)) return -1;
	pp = wa_mem_range(m, pw, pwlen);
	sp = wa_mem_range(m, salt, saltlen);
	if (!pp || !sp) return trap(h, fn, "pointer out of bounds");
	dst = digest_out(h, m, fn, out);
	if (!dst) return -1;
	if (pwlen > WA_MAX_CRYPTO_INPUT_BYTES || saltlen > WA_MAX_CRYPTO_INPUT_BYTES) {
		*ret = WA_CRYPTO_TOO_LARGE;
		return 0;
	}
	/* (int32_t) in the ABI: a negative count arrives as a huge one and is refused here too. */
	if (iterations == 0 || iterations > WA_MAX_PBKDF2_SHA256_ITERATIONS) {
		*ret = WA_CRYPTO_BAD_ITERATIONS;
		return 0;
	}
	if (charge(h, fn,
	           WA_FUEL_DIGEST + per32((uint64_t)pwlen + saltlen, WA_FUEL_HASH_32) +
	               (uint64_t)iterations * WA_FUEL_PBKDF2_SHA256_ITERATION))
		return -1;
	*ret = crypto_result(wa_pbkdf2_sha256(pp, pwlen, sp, saltlen, iterations, digest));
	if (*ret == 0) memcpy(dst, digest, sizeof digest);
	return 0;
}
