#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_limits.h"
#include "options.h"

static char *dup_or_empty(const char *s, size_t *len)
{
	char *copy;

	*len = s ? strlen(s) : 0;
	copy = malloc(*len + 1);
	if (copy) {
		if (*len) memcpy(copy, s, *len);
		copy[*len] = '\0';
	}
	return copy;
}

struct wa_options *wa_options_new(const struct wa_kv *kv, unsigned n, char *err, size_t errlen)
{
	struct wa_options *opts;

	if (n > WA_MAX_OPTIONS) {
		snprintf(err, errlen, "%u options given, at most %u are supported", n, WA_MAX_OPTIONS);
		return NULL;
	}
	opts = calloc(1, sizeof *opts);
	if (opts && n) opts->items = calloc(n, sizeof *opts->items);
	if (!opts || (n && !opts->items)) goto nomem;
	for (unsigned i = 0; i < n; i++) {
		struct wa_opt *o = &opts->items[i];
		o->key = dup_or_empty(kv[i].key, &o->keylen);
		o->value = dup_or_empty(kv[i].value, &o->valuelen);
		opts->count = i + 1;
		if (!o->key || !o->value) goto nomem;
	}
	return opts;
nomem:
	snprintf(err, errlen, "out of memory");
	wa_options_free(opts);
	return NULL;
}

void wa_options_free(struct wa_options *opts)
{
	if (!opts) return;
	for (unsigned i = 0; i < opts->count; i++) {
		free(opts->items[i].key);
		free(opts->items[i].value);
	}
	free(opts->items);
	free(opts);
}

const struct wa_opt *wa_options_find(const struct wa_options *opts, const char *key, size_t keylen)
{
	for (unsigned i = opts->count; i-- > 0;) {
		const struct wa_opt *o = &opts->items[i];
		if (o->keylen == keylen && memcmp(o->key, key, keylen) == 0) return o;
	}
	return NULL;
}

static const char *get(const struct wa_options *opts, const char *key)
{
	const struct wa_opt *o = wa_options_find(opts, key, strlen(key));
	return o ? o->value : NULL;
}

/* Unsigned decimal in [min, max]; absent keeps *out (the default). */
static int parse_number(const struct wa_options *opts, const char *key, uint64_t min, uint64_t max, uint64_t *out,
                        char *err, size_t errlen)
{
	const char *s = get(opts, key);
	uint64_t v = 0;

	if (!s) return 0;
	if (!*s) goto bad;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9') goto bad;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max) goto bad;
	}
	if (v < min) goto bad;
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "option %s: \"%s\" is not a whole number from %llu to %llu", key, s,
	         (unsigned long long)min, (unsigned long long)max);
	return -1;
}

static const char *const known_options[] = {
	WA_OPT_MODULE,           WA_OPT_ON_ERROR,
	WA_OPT_MAX_MODULE_BYTES, WA_OPT_MAX_MEMORY_PAGES,
	WA_OPT_MAX_TABLE_ELEMS,  WA_OPT_MAX_FUNCTIONS,
	WA_OPT_MAX_GLOBALS,      WA_OPT_MAX_DATA_BYTES,
	WA_OPT_MAX_PAYLOAD,      WA_OPT_FUEL,
	WA_OPT_TIMEOUT_MS,       WA_OPT_ACL_CACHE,
	WA_OPT_ACL_GRANTS,       WA_OPT_INIT_FUEL,
	WA_OPT_INIT_TIMEOUT_MS,  WA_OPT_CLIENT_SHARE,
	WA_OPT_CPU_SHARE,        WA_OPT_TICK_MS,
	WA_OPT_PUBLISH_PREFIX,   WA_OPT_RECORD,
	WA_OPT_RECORD_PAYLOADS,  WA_OPT_RECORD_MAX_BYTES,
	WA_OPT_SYS_INTERVAL,     WA_OPT_AUDIT,
	WA_OPT_AUDIT_FILE,       WA_OPT_SHADOW_MODULE,
	WA_OPT_SHADOW_SHARE,     WA_OPT_LOGIN_THREAD,
};

/* A misspelt host option would otherwise be handed to the policy as one of its own and the
 * setting silently left at its default: the wasm_ prefix is the plugin's, and every name in it
 * must be known. Options without the prefix belong to the policy. */
static int check_option_names(const struct wa_options *opts, char *err, size_t errlen)
{
	static const char prefix[] = "wasm_";

	for (unsigned i = 0; i < opts->count; i++) {
		const struct wa_opt *o = &opts->items[i];
		const char *close = NULL;
		size_t best = 3; /* within two edits */
		bool known = false;

		if (o->keylen < sizeof prefix - 1 || memcmp(o->key, prefix, sizeof prefix - 1) != 0) continue;
		for (size_t k = 0; k < sizeof known_options / sizeof known_options[0] && !known; k++) {
			size_t d = wa_name_distance(o->key, o->keylen, known_options[k]);
			known = d == 0;
			if (d < best) {
				best = d;
				close = known_options[k];
			}
		}
		if (known) continue;
		if (close) {
			snprintf(
			    err, errlen,
			    "unknown option %.64s%s (did you mean %s?): the wasm_ prefix is for the plugin's options",
			    o->key, o->keylen > 64 ? "..." : "", close);
		} else {
			snprintf(err, errlen,
			         "unknown option %.64s%s: the wasm_ prefix is for the plugin's options (docs/ABI.md); "
			         "give the policy's own options another name",
			         o->key, o->keylen > 64 ? "..." : "");
		}
		return -1;
	}
	return 0;
}

/* on or off; absent: dflt. */
static int parse_switch(const struct wa_options *opts, const char *key, int dflt, int *out, char *err, size_t errlen)
{
	const char *s = get(opts, key);

	*out = s ? strcmp(s, "on") == 0 : dflt;
	if (!s || *out || strcmp(s, "off") == 0) return 0;
	snprintf(err, errlen, "option %s: \"%s\" is neither on nor off", key, s);
	return -1;
}

/* wasm_publish_prefix: one or more whole topic levels (a trailing '/' is dropped), no wildcards,
 * not a $ topic: the broker's own ($SYS, $CONTROL) are never the policy's. Unset: NULL. */
static int parse_prefix(const struct wa_options *opts, struct wa_config *cfg, char *err, size_t errlen)
{
	const struct wa_opt *o = wa_options_find(opts, WA_OPT_PUBLISH_PREFIX, strlen(WA_OPT_PUBLISH_PREFIX));
	size_t n;

	if (!o) return 0;
	n = o->valuelen;
	if (n && o->value[n - 1] == '/') n--;
	if (n == 0 || n > WA_MAX_FIELD_BYTES || o->value[0] == '$' || strpbrk(o->value, "+#") ||
	    strlen(o->value) != o->valuelen) {
		snprintf(err, errlen,
		         "option %s: \"%.64s%s\" is not a topic prefix (one or more topic levels, such as "
		         "policy/events, without + or # and not starting with $)",
		         WA_OPT_PUBLISH_PREFIX, o->value, o->valuelen > 64 ? "..." : "");
		return -1;
	}
	cfg->publish_prefix = o->value;
	cfg->publish_prefix_len = n;
	return 0;
}

/* wasm_audit off|deny|all, and wasm_audit_file: a path (not empty), meaningful only with audit. */
static int parse_audit(const struct wa_options *opts, struct wa_config *cfg, char *err, size_t errlen)
{
	const char *s = get(opts, WA_OPT_AUDIT);
	const char *file = get(opts, WA_OPT_AUDIT_FILE);

	if (!s || strcmp(s, "off") == 0) {
		cfg->audit = WA_AUDIT_OFF;
	} else if (strcmp(s, "deny") == 0) {
		cfg->audit = WA_AUDIT_DENY;
	} else if (strcmp(s, "all") == 0) {
		cfg->audit = WA_AUDIT_ALL;
	} else {
		snprintf(err, errlen, "option %s: \"%.64s%s\" is none of off, deny, all", WA_OPT_AUDIT, s,
		         strlen(s) > 64 ? "..." : "");
		return -1;
	}
	if (file && !*file) {
		snprintf(err, errlen, "option %s: empty path (leave it out to audit to mosquitto's log)",
		         WA_OPT_AUDIT_FILE);
		return -1;
	}
	cfg->audit_file = file;
	return 0;
}

int wa_config_parse(const struct wa_options *opts, struct wa_config *cfg, char *err, size_t errlen)
{
	uint64_t module_bytes = WA_MAX_MODULE_BYTES, pages = WA_MAX_MEMORY_PAGES;
	uint64_t table = WA_MAX_TABLE_ELEMS, functions = WA_MAX_FUNCTIONS, globals = WA_MAX_GLOBALS;
	uint64_t data = WA_MAX_DATA_BYTES;
	uint64_t payload = WA_MAX_PAYLOAD_BYTES, fuel = WA_DEFAULT_FUEL, timeout = WA_DEFAULT_TIMEOUT_MS;
	uint64_t init_fuel = 0, init_timeout = 0, client_share = WA_DEFAULT_CLIENT_SHARE, share = WA_DEFAULT_CPU_SHARE;
	uint64_t tick = WA_DEFAULT_TICK_MS, record_max = WA_DEFAULT_RECORD_MAX_BYTES,
	         sys_interval = WA_DEFAULT_SYS_INTERVAL_S, shadow_share = WA_DEFAULT_SHADOW_SHARE;
	const char *on_error = get(opts, WA_OPT_ON_ERROR);

	memset(cfg, 0, sizeof *cfg);
	if (check_option_names(opts, err, errlen)) return -1;
	cfg->module_path = get(opts, WA_OPT_MODULE);
	if (!cfg->module_path || !*cfg->module_path) {
		snprintf(err, errlen, "option %s (the policy .wasm file) is required", WA_OPT_MODULE);
		return -1;
	}
	if (!on_error || strcmp(on_error, "deny") == 0) {
		cfg->on_error = WA_DENY;
	} else if (strcmp(on_error, "defer") == 0) {
		cfg->on_error = WA_DEFER;
	} else {
		snprintf(err, errlen, "option %s: \"%s\" is neither deny nor defer", WA_OPT_ON_ERROR, on_error);
		return -1;
	}
	if (parse_switch(opts, WA_OPT_ACL_CACHE, 1, &cfg->acl_cache, err, errlen) ||
	    parse_switch(opts, WA_OPT_ACL_GRANTS, 1, &cfg->acl_grants, err, errlen) ||
	    parse_switch(opts, WA_OPT_RECORD_PAYLOADS, 0, &cfg->record_payloads, err, errlen) ||
	    parse_switch(opts, WA_OPT_LOGIN_THREAD, 0, &cfg->login_thread, err, errlen)) {
		return -1;
	}
	/* Upper bounds: a module the gate can still hold in memory, wasm's 4 GiB address space,
	 * MQTT's largest payload, and budgets whose init multiples (WA_INIT_*_FACTOR) fit.
	 * Like module size and memory, the gate's counts may be raised above wa_limits.h's defaults,
	 * up to the limits V8 sets for any module (10M table elements, 1M functions, 1M globals),
	 * so that the Node host can still run what the plugin accepts; data is bounded by the
	 * largest module. At least one function: a policy exports a hook. */
	if (parse_number(opts, WA_OPT_MAX_MODULE_BYTES, 8, 1u << 30, &module_bytes, err, errlen) ||
	    parse_number(opts, WA_OPT_MAX_MEMORY_PAGES, 1, 65536, &pages, err, errlen) ||
	    parse_number(opts, WA_OPT_MAX_TABLE_ELEMS, 0, 10000000, &table, err, errlen) ||
	    parse_number(opts, WA_OPT_MAX_FUNCTIONS, 1, 1000000, &functions, err, errlen) ||
	    parse_number(opts, WA_OPT_MAX_GLOBALS, 0, 1000000, &globals, err, errlen) ||
	    parse_number(opts, WA_OPT_MAX_DATA_BYTES, 0, 1u << 30, &data, err, errlen) ||
	    parse_number(opts, WA_OPT_MAX_PAYLOAD, 0, 268435455, &payload, err, errlen) ||
	    parse_number(opts, WA_OPT_FUEL, 1, 1000000000000000ull, &fuel, err, errlen) ||
	    parse_number(opts, WA_OPT_TIMEOUT_MS, 1, 3600000, &timeout, err, errlen) ||
	    parse_number(opts, WA_OPT_INIT_FUEL, 1, 1000000000000000ull, &init_fuel, err, errlen) ||
	    parse_number(opts, WA_OPT_INIT_TIMEOUT_MS, 1, 3600000, &init_timeout, err, errlen) ||
	    parse_number(opts, WA_OPT_CLIENT_SHARE, 1, 100, &client_share, err, errlen) ||
	    parse_number(opts, WA_OPT_CPU_SHARE, 1, 100, &share, err, errlen) ||
	    parse_number(opts, WA_OPT_TICK_MS, 0, 3600000, &tick, err, errlen) ||
	    parse_number(opts, WA_OPT_RECORD_MAX_BYTES, WA_RECORD_MIN_BYTES, UINT64_C(1) << 40, &record_max, err,
	                 errlen) ||
	    parse_number(opts, WA_OPT_SYS_INTERVAL, 0, WA_MAX_SYS_INTERVAL_S, &sys_interval, err, errlen) ||
	    parse_number(opts, WA_OPT_SHADOW_SHARE, 1, 100, &shadow_share, err, errlen) ||
	    parse_prefix(opts, cfg, err, errlen) || parse_audit(opts, cfg, err, errlen)) {
		return -1;
	}
	cfg->shadow_module = get(opts, WA_OPT_SHADOW_MODULE);
	if (cfg->shadow_module && !*cfg->shadow_module) {
		snprintf(err, errlen, "option %s: empty (the candidate policy .wasm file, or leave it out)",
		         WA_OPT_SHADOW_MODULE);
		return -1;
	}
	/* Lifecycle hooks may parse option files: by default a multiple of the request budget. */
	if (!init_fuel)
		init_fuel = fuel > UINT64_MAX / WA_INIT_FUEL_FACTOR ? UINT64_MAX / 2 : fuel * WA_INIT_FUEL_FACTOR;
	if (init_fuel > (uint64_t)INT64_MAX / 2) init_fuel = (uint64_t)INT64_MAX / 2;
	if (!init_timeout)
		init_timeout =
		    timeout * WA_INIT_TIMEOUT_FACTOR > 3600000u ? 3600000u : timeout * WA_INIT_TIMEOUT_FACTOR;
	cfg->caps.max_module_bytes = (uint32_t)module_bytes;
	cfg->caps.max_memory_pages = (uint32_t)pages;
	cfg->caps.max_table_elems = (uint32_t)table;
	cfg->caps.max_functions = (uint32_t)functions;
	cfg->caps.max_globals = (uint32_t)globals;
	cfg->caps.max_data_bytes = (uint32_t)data;
	cfg->max_payload = (uint32_t)payload;
	cfg->fuel = (int64_t)fuel;
	cfg->timeout_ms = (uint32_t)timeout;
	cfg->init_fuel = (int64_t)init_fuel;
	cfg->init_timeout_ms = (uint32_t)init_timeout;
	cfg->client_share = (uint32_t)client_share;
	cfg->cpu_share = (uint32_t)share;
	cfg->tick_ms = (uint32_t)tick;
	cfg->record_path = get(opts, WA_OPT_RECORD);
	if (cfg->record_path && !*cfg->record_path) {
		snprintf(err, errlen, "option %s: give the file requests are recorded to (or leave the option out)",
		         WA_OPT_RECORD);
		return -1;
	}
	cfg->record_max_bytes = record_max;
	cfg->sys_interval_s = (uint32_t)sys_interval;
	cfg->shadow_share = (uint32_t)shadow_share;
	return 0;
}
