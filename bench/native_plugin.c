/* Policy P as a hand-written native mosquitto v5 plugin: the floor the wasm plugin is measured
 * against (docs/BENCHMARKS.md). It does what a careful C author would do and nothing more:
 *   - plugin_opt_password_file: mosquitto_passwd lines "user:$7$iter$salt$hash" (PBKDF2-SHA512),
 *     parsed once at init into an open-addressing table with the salt and hash already decoded;
 *   - BASIC_AUTH: table lookup + PKCS5_PBKDF2_HMAC + constant-time compare;
 *   - ACL_CHECK: a user may read/write/subscribe users/<own username>/#, may read/subscribe
 *     public/#; everything else is denied.
 * Built only by bench/bench.mk; never installed. */
#define _POSIX_C_SOURCE 200809L /* strndup */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mosquitto.h>

#define NP_SALT_MAX 64u
#define NP_HASH_LEN 64u /* SHA-512 output, what mosquitto_passwd stores for $7$ */
#define NP_USER_MAX 256u
#define NP_LINE_MAX 1024u

struct np_user {
	char *name;
	size_t name_len;
	unsigned iterations;
	unsigned salt_len;
	unsigned char salt[NP_SALT_MAX];
	unsigned char hash[NP_HASH_LEN];
};

struct np_state {
	mosquitto_plugin_id_t *id;
	struct np_user *slots; /* open addressing, linear probing; name == NULL is empty */
	size_t cap;            /* power of two */
	size_t count;
};

static uint32_t np_hash(const char *s, size_t n)
{
	/* FNV-1a: short keys, no adversary (the table is built from the operator's file). */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static const struct np_user *np_find(const struct np_state *st, const char *name)
{
	if (st->cap == 0) return NULL;
	size_t n = strlen(name);
	size_t mask = st->cap - 1;
	for (size_t i = np_hash(name, n) & mask;; i = (i + 1) & mask) {
		const struct np_user *u = &st->slots[i];
		if (u->name == NULL) return NULL;
		if (u->name_len == n && memcmp(u->name, name, n) == 0) return u;
	}
}

/* Decodes unpadded or padded base64 of exactly `want` bytes (or at most `want` when exact is
 * false); returns the byte count or -1. */
static int np_b64(const char *in, size_t in_len, unsigned char *out, size_t want, bool exact)
{
	unsigned char tmp[NP_LINE_MAX];
	char padded[NP_LINE_MAX];
	if (in_len == 0 || in_len + 4 >= sizeof padded) return -1;
	memcpy(padded, in, in_len);
	size_t n = in_len;
	while (n % 4) padded[n++] = '=';
	padded[n] = '\0';
	int got = EVP_DecodeBlock(tmp, (const unsigned char *)padded, (int)n);
	if (got < 0) return -1;
	for (size_t i = n; i > 0 && padded[i - 1] == '='; i--) got--;
	if (got < 0 || (size_t)got > want || (exact && (size_t)got != want)) return -1;
	memcpy(out, tmp, (size_t)got);
	return got;
}

/* "$7$iter$salt$hash" -> u. 0 ok, -1 malformed. */
static int np_parse_hash(const char *h, struct np_user *u)
{
	if (strncmp(h, "$7$", 3) != 0) return -1;
	char *end;
	errno = 0;
	unsigned long it = strtoul(h + 3, &end, 10);
	if (errno || *end != '$' || it == 0 || it > 10000000ul) return -1;
	const char *salt = end + 1;
	const char *dollar = strchr(salt, '$');
	if (dollar == NULL) return -1;
	int sl = np_b64(salt, (size_t)(dollar - salt), u->salt, NP_SALT_MAX, false);
	if (sl <= 0) return -1;
	const char *hash = dollar + 1;
	if (np_b64(hash, strlen(hash), u->hash, NP_HASH_LEN, true) < 0) return -1;
	u->iterations = (unsigned)it;
	u->salt_len = (unsigned)sl;
	return 0;
}

static int np_insert(struct np_state *st, const struct np_user *src)
{
	size_t mask = st->cap - 1;
	for (size_t i = np_hash(src->name, src->name_len) & mask;; i = (i + 1) & mask) {
		struct np_user *u = &st->slots[i];
		if (u->name == NULL) {
			*u = *src;
			st->count++;
			return 0;
		}
		if (u->name_len == src->name_len && memcmp(u->name, src->name, src->name_len) == 0) {
			return -1; /* duplicate user */
		}
	}
}

static void np_free_table(struct np_state *st)
{
	for (size_t i = 0; i < st->cap; i++) free(st->slots[i].name);
	free(st->slots);
	st->slots = NULL;
	st->cap = st->count = 0;
}

static int np_load(struct np_state *st, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "native-p: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	size_t lines = 0;
	char line[NP_LINE_MAX];
	while (fgets(line, sizeof line, f)) lines++;
	rewind(f);
	st->cap = 16;
	while (st->cap < lines * 2) st->cap *= 2;
	st->slots = calloc(st->cap, sizeof *st->slots);
	if (st->slots == NULL) {
		fclose(f);
		mosquitto_log_printf(MOSQ_LOG_ERR, "native-p: out of memory");
		return -1;
	}
	unsigned lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#') continue;
		char *colon = strchr(line, ':');
		struct np_user u;
		memset(&u, 0, sizeof u);
		if (colon == NULL || colon == line || (size_t)(colon - line) >= NP_USER_MAX ||
		    np_parse_hash(colon + 1, &u) != 0) {
			mosquitto_log_printf(MOSQ_LOG_ERR, "native-p: %s:%u: not a user:$7$ line", path, lineno);
			fclose(f);
			return -1;
		}
		u.name_len = (size_t)(colon - line);
		u.name = strndup(line, u.name_len);
		if (u.name == NULL || np_insert(st, &u) != 0) {
			mosquitto_log_printf(MOSQ_LOG_ERR, "native-p: %s:%u: duplicate user or out of memory", path,
			                     lineno);
			free(u.name);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int np_basic_auth(int event, void *event_data, void *userdata)
{
	(void)event;
	const struct mosquitto_evt_basic_auth *ed = event_data;
	const struct np_state *st = userdata;
	if (ed->username == NULL || ed->password == NULL) return MOSQ_ERR_AUTH;
	const struct np_user *u = np_find(st, ed->username);
	if (u == NULL) return MOSQ_ERR_AUTH;
	unsigned char out[NP_HASH_LEN];
	if (PKCS5_PBKDF2_HMAC(ed->password, (int)strlen(ed->password), u->salt, (int)u->salt_len, (int)u->iterations,
	                      EVP_sha512(), (int)sizeof out, out) != 1) {
		return MOSQ_ERR_AUTH;
	}
	return CRYPTO_memcmp(out, u->hash, sizeof out) == 0 ? MOSQ_ERR_SUCCESS : MOSQ_ERR_AUTH;
}

/* True when `topic` (a topic or a subscription filter) lies inside `<prefix><name>/#`: equal to
 * prefix+name, or followed by '/'. A name with wildcards never matches (CVE-2017-7650). */
static bool np_under(const char *topic, const char *prefix, size_t plen, const char *name)
{
	if (strncmp(topic, prefix, plen) != 0) return false;
	const char *t = topic + plen;
	if (name == NULL) return *t == '\0' || *t == '/';
	for (; *name; name++, t++) {
		if (*t != *name || *name == '+' || *name == '#') return false;
	}
	return *t == '\0' || *t == '/';
}

static int np_acl_check(int event, void *event_data, void *userdata)
{
	(void)event;
	(void)userdata;
	const struct mosquitto_evt_acl_check *ed = event_data;
	const char *user = mosquitto_client_username(ed->client);
	if (user != NULL && np_under(ed->topic, "users/", 6, user)) return MOSQ_ERR_SUCCESS;
	if ((ed->access == MOSQ_ACL_READ || ed->access == MOSQ_ACL_SUBSCRIBE || ed->access == MOSQ_ACL_UNSUBSCRIBE) &&
	    np_under(ed->topic, "public", 6, NULL)) {
		return MOSQ_ERR_SUCCESS;
	}
	return MOSQ_ERR_ACL_DENIED;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5) return 5;
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options,
                          int option_count)
{
	const char *path = NULL;
	for (int i = 0; i < option_count; i++) {
		if (strcmp(options[i].key, "password_file") == 0) path = options[i].value;
	}
	if (path == NULL) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "native-p: plugin_opt_password_file is required");
		return MOSQ_ERR_INVAL;
	}
	struct np_state *st = calloc(1, sizeof *st);
	if (st == NULL) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "native-p: out of memory");
		return MOSQ_ERR_NOMEM;
	}
	st->id = identifier;
	if (np_load(st, path) != 0) {
		np_free_table(st);
		free(st);
		return MOSQ_ERR_INVAL;
	}
	if (mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, np_basic_auth, NULL, st) != 0 ||
	    mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, np_acl_check, NULL, st) != 0) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "native-p: callback registration failed");
		np_free_table(st);
		free(st);
		return MOSQ_ERR_UNKNOWN;
	}
	*userdata = st;
	mosquitto_log_printf(MOSQ_LOG_INFO, "native-p: %zu users from %s", st->count, path);
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)options;
	(void)option_count;
	struct np_state *st = userdata;
	if (st == NULL) return MOSQ_ERR_SUCCESS;
	mosquitto_callback_unregister(st->id, MOSQ_EVT_BASIC_AUTH, np_basic_auth, NULL);
	mosquitto_callback_unregister(st->id, MOSQ_EVT_ACL_CHECK, np_acl_check, NULL);
	np_free_table(st);
	free(st);
	return MOSQ_ERR_SUCCESS;
}
