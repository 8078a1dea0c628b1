/* Option copying and the host's settings parsed from them (options.h). */
#include <string.h>

#include "check.h"
#include "../runtime/wa_limits.h"
#include "../runtime/options.h"

static int parse(const struct wa_kv *kv, unsigned n, struct wa_config *cfg, char *err, size_t errlen)
{
	struct wa_options *opts = wa_options_new(kv, n, err, errlen);
	int rc = opts ? wa_config_parse(opts, cfg, err, errlen) : -2;
	wa_options_free(opts);
	return rc;
}

static void defaults(void)
{
	const struct wa_kv kv[] = { { "wasm_module", "/p.wasm" } };
	struct wa_options *opts;
	struct wa_config cfg;
	char err[256];

	opts = wa_options_new(kv, 1, err, sizeof err);
	CHECK(opts != NULL);
	if (!opts) return;
	CHECK_INT(wa_config_parse(opts, &cfg, err, sizeof err), 0);
	CHECK_STR(cfg.module_path, "/p.wasm");
	CHECK_INT(cfg.on_error, WA_DENY);
	CHECK_INT(cfg.caps.max_module_bytes, WA_MAX_MODULE_BYTES);
	CHECK_INT(cfg.caps.max_memory_pages, WA_MAX_MEMORY_PAGES);
	CHECK_INT(cfg.caps.max_table_elems, WA_MAX_TABLE_ELEMS);
	CHECK_INT(cfg.caps.max_functions, WA_MAX_FUNCTIONS);
	CHECK_INT(cfg.caps.max_globals, WA_MAX_GLOBALS);
	CHECK_INT(cfg.caps.max_data_bytes, WA_MAX_DATA_BYTES);
	CHECK_INT(cfg.max_payload, WA_MAX_PAYLOAD_BYTES);
	CHECK_INT(cfg.fuel, WA_DEFAULT_FUEL);
	CHECK_INT(cfg.timeout_ms, WA_DEFAULT_TIMEOUT_MS);
	CHECK_INT(cfg.acl_cache, 1);
	wa_options_free(opts);
}

static void overrides(void)
{
	const struct wa_kv kv[] = {
		{ "wasm_module", "/a.wasm" },         { "wasm_on_error", "defer" }, { "wasm_max_module_bytes", "1000" },
		{ "wasm_max_memory_pages", "65536" }, { "wasm_max_payload", "0" },  { "wasm_fuel", "5" },
		{ "wasm_timeout_ms", "3600000" },     { "wasm_module", "/b.wasm" }, { "other", NULL },
		{ "wasm_acl_cache", "off" },
	};
	struct wa_options *opts;
	struct wa_config cfg;
	char err[256];

	opts = wa_options_new(kv, 10, err, sizeof err);
	CHECK(opts != NULL);
	if (!opts) return;
	CHECK_INT(opts->count, 10); /* every pair is kept, in order, for the policy */
	CHECK_STR(opts->items[0].value, "/a.wasm");
	CHECK_STR(opts->items[8].value, ""); /* NULL value: empty */
	CHECK_INT(wa_config_parse(opts, &cfg, err, sizeof err), 0);
	CHECK_STR(cfg.module_path, "/b.wasm"); /* the later line wins */
	CHECK_INT(cfg.on_error, WA_DEFER);
	CHECK_INT(cfg.caps.max_module_bytes, 1000);
	CHECK_INT(cfg.caps.max_memory_pages, 65536);
	CHECK_INT(cfg.max_payload, 0);
	CHECK_INT(cfg.fuel, 5);
	CHECK_INT(cfg.timeout_ms, 3600000);
	CHECK_INT(cfg.acl_cache, 0);
	CHECK(wa_options_find(opts, "other", 5) == &opts->items[8]);
	CHECK(wa_options_find(opts, "othe", 4) == NULL);
	wa_options_free(opts);
}

/* The gate's counts: lowered, raised above wa_limits.h's defaults up to the bounds, and refused
 * past them with the message every numeric option uses. */
static void gate_caps(void)
{
	const struct wa_kv low[] = {
		{ "wasm_module", "m" },      { "wasm_max_table_elems", "0" }, { "wasm_max_functions", "1" },
		{ "wasm_max_globals", "0" }, { "wasm_max_data_bytes", "0" },
	};
	const struct wa_kv high[] = {
		{ "wasm_module", "m" },
		{ "wasm_max_table_elems", "10000000" },
		{ "wasm_max_functions", "1000000" },
		{ "wasm_max_globals", "1000000" },
		{ "wasm_max_data_bytes", "1073741824" },
	};
	const struct {
		const char *key, *value, *want;
	} bad[] = {
		{ "wasm_max_table_elems", "10000001",
		  "option wasm_max_table_elems: \"10000001\" is not a whole number from 0 to 10000000" },
		{ "wasm_max_functions", "0",
		  "option wasm_max_functions: \"0\" is not a whole number from 1 to 1000000" },
		{ "wasm_max_globals", "1e3",
		  "option wasm_max_globals: \"1e3\" is not a whole number from 0 to 1000000" },
		{ "wasm_max_data_bytes", "1073741825",
		  "option wasm_max_data_bytes: \"1073741825\" is not a whole number from 0 to 1073741824" },
		{ "wasm_max_data_bytes", "", "option wasm_max_data_bytes: \"\" is not a whole number" },
		{ "wasm_max_functions", "-5", "option wasm_max_functions: \"-5\"" },
	};
	struct wa_config cfg;
	char err[256];

	CHECK_INT(parse(low, 5, &cfg, err, sizeof err), 0);
	CHECK_INT(cfg.caps.max_table_elems, 0);
	CHECK_INT(cfg.caps.max_functions, 1);
	CHECK_INT(cfg.caps.max_globals, 0);
	CHECK_INT(cfg.caps.max_data_bytes, 0);
	CHECK_INT(parse(high, 5, &cfg, err, sizeof err), 0);
	CHECK_INT(cfg.caps.max_table_elems, 10000000);
	CHECK_INT(cfg.caps.max_functions, 1000000);
	CHECK_INT(cfg.caps.max_globals, 1000000);
	CHECK_INT(cfg.caps.max_data_bytes, 1073741824);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const struct wa_kv kv[] = { { "wasm_module", "m" }, { bad[i].key, bad[i].value } };
		err[0] = '\0';
		CHECK_INT(parse(kv, 2, &cfg, err, sizeof err), -1);
		CHECK(strncmp(err, bad[i].want, strlen(bad[i].want)) == 0);
	}
}

static void errors(void)
{
	struct wa_config cfg;
	char err[256];
	const struct wa_kv none[] = { { "x", "y" } };
	const struct wa_kv empty[] = { { "wasm_module", "" } };
	const struct wa_kv bad_error[] = { { "wasm_module", "m" }, { "wasm_on_error", "allow" } };
	const struct wa_kv bad_cache[] = { { "wasm_module", "m" }, { "wasm_acl_cache", "yes" } };
	const struct wa_kv bad_fuel[] = { { "wasm_module", "m" }, { "wasm_fuel", "0" } };
	const struct wa_kv bad_pages[] = { { "wasm_module", "m" }, { "wasm_max_memory_pages", "65537" } };
	const struct wa_kv signed_num[] = { { "wasm_module", "m" }, { "wasm_timeout_ms", "-1" } };
	const struct wa_kv junk[] = { { "wasm_module", "m" }, { "wasm_max_payload", "12k" } };
	const struct wa_kv huge[] = { { "wasm_module", "m" }, { "wasm_fuel", "99999999999999999999999" } };

	CHECK_INT(parse(none, 1, &cfg, err, sizeof err), -1);
	CHECK(strstr(err, "wasm_module") != NULL);
	CHECK_INT(parse(empty, 1, &cfg, err, sizeof err), -1);
	CHECK_INT(parse(bad_error, 2, &cfg, err, sizeof err), -1);
	CHECK(strstr(err, "wasm_on_error") != NULL);
	CHECK_INT(parse(bad_cache, 2, &cfg, err, sizeof err), -1);
	CHECK(strstr(err, "wasm_acl_cache") != NULL);
	CHECK_INT(parse(bad_fuel, 2, &cfg, err, sizeof err), -1);
	CHECK(strstr(err, "wasm_fuel") != NULL);
	CHECK_INT(parse(bad_pages, 2, &cfg, err, sizeof err), -1);
	CHECK_INT(parse(signed_num, 2, &cfg, err, sizeof err), -1);
	CHECK_INT(parse(junk, 2, &cfg, err, sizeof err), -1);
	CHECK(strstr(err, "\"12k\"") != NULL);
	CHECK_INT(parse(huge, 2, &cfg, err, sizeof err), -1);
	CHECK(wa_options_new(none, WA_MAX_OPTIONS + 1, err, sizeof err) == NULL);
}

/* Every wasm_ name must be a host option; others are the policy's and pass through. */
static void unknown_names(void)
{
	struct wa_config cfg;
	char err[256];
	const struct wa_kv typo[] = { { "wasm_module", "m" }, { "wasm_fule", "100" } };
	const struct wa_kv typo2[] = { { "wasm_module", "m" }, { "wasm_init_timout_ms", "100" } };
	const struct wa_kv far[] = { { "wasm_module", "m" }, { "wasm_users_file", "/etc/u" } };
	const struct wa_kv typo_module[] = { { "wasm_modul", "m" } };
	const struct wa_kv policy_own[] = { { "wasm_module", "m" }, { "users_file", "/etc/u" }, { "wasmish", "1" } };
	const struct wa_kv all[] = {
		{ "wasm_module", "m" },
		{ "wasm_on_error", "deny" },
		{ "wasm_max_module_bytes", "1000" },
		{ "wasm_max_memory_pages", "1" },
		{ "wasm_max_table_elems", "1" },
		{ "wasm_max_functions", "1" },
		{ "wasm_max_globals", "1" },
		{ "wasm_max_data_bytes", "1" },
		{ "wasm_max_payload", "1" },
		{ "wasm_fuel", "1" },
		{ "wasm_timeout_ms", "1" },
		{ "wasm_acl_cache", "on" },
		{ "wasm_init_fuel", "1" },
		{ "wasm_init_timeout_ms", "1" },
		{ "wasm_client_share", "1" },
		{ "wasm_cpu_share", "1" },
	};

	CHECK_INT(parse(typo, 2, &cfg, err, sizeof err), -1);
	CHECK_STR(err,
	          "unknown option wasm_fule (did you mean wasm_fuel?): the wasm_ prefix is for the plugin's options");
	CHECK_INT(parse(typo2, 2, &cfg, err, sizeof err), -1);
	CHECK(strstr(err, "unknown option wasm_init_timout_ms (did you mean wasm_init_timeout_ms?)") == err);
	CHECK_INT(parse(far, 2, &cfg, err, sizeof err), -1);
	CHECK_STR(err, "unknown option wasm_users_file: the wasm_ prefix is for the plugin's options (docs/ABI.md); "
	               "give the policy's own options another name");
	/* Reported before the missing wasm_module: the typo is the cause. */
	CHECK_INT(parse(typo_module, 1, &cfg, err, sizeof err), -1);
	CHECK(strstr(err, "did you mean wasm_module?") != NULL);
	CHECK_INT(parse(policy_own, 3, &cfg, err, sizeof err), 0);
	CHECK_INT(parse(all, sizeof all / sizeof all[0], &cfg, err, sizeof err), 0);
}

/* wasm_tick_ms and wasm_publish_prefix (docs/ABI.md, "Events and deferred actions"). */
static void events(void)
{
	struct wa_config cfg;
	char err[256];
	const struct wa_kv plain[] = { { "wasm_module", "m" } };
	const struct wa_kv set[] = { { "wasm_module", "m" },
		                     { "wasm_tick_ms", "0" },
		                     { "wasm_publish_prefix", "a/b/" } };
	const struct wa_kv one[] = { { "wasm_module", "m" }, { "wasm_publish_prefix", "events" } };
	const char *const bad[] = { "", "/", "$SYS/x", "a/+", "a/#/b" };

	CHECK_INT(parse(plain, 1, &cfg, err, sizeof err), 0);
	CHECK_INT(cfg.tick_ms, WA_DEFAULT_TICK_MS);
	CHECK(cfg.publish_prefix == NULL);
	CHECK_INT(parse(set, 3, &cfg, err, sizeof err), 0);
	CHECK_INT(cfg.tick_ms, 0);
	CHECK_INT(cfg.publish_prefix_len, 3); /* the trailing '/' dropped */
	CHECK_INT(parse(one, 2, &cfg, err, sizeof err), 0);
	CHECK_INT(cfg.publish_prefix_len, 6);
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const struct wa_kv kv[] = { { "wasm_module", "m" }, { "wasm_publish_prefix", bad[i] } };
		char want[256];
		snprintf(want, sizeof want,
		         "option wasm_publish_prefix: \"%s\" is not a topic prefix (one or more topic levels, such as "
		         "policy/events, without + or # and not starting with $)",
		         bad[i]);
		CHECK_INT(parse(kv, 2, &cfg, err, sizeof err), -1);
		CHECK_STR(err, want);
	}
	{
		const struct wa_kv kv[] = { { "wasm_module", "m" }, { "wasm_tick_ms", "3600001" } };
		CHECK_INT(parse(kv, 2, &cfg, err, sizeof err), -1);
		CHECK_STR(err, "option wasm_tick_ms: \"3600001\" is not a whole number from 0 to 3600000");
	}
}

/* wasm_shadow_module and wasm_shadow_share (plugin-c/broker/shadow.h). */
static void shadow(void)
{
	struct wa_config cfg;
	char err[256];
	const struct wa_kv plain[] = { { "wasm_module", "m" } };
	const struct wa_kv set[] = { { "wasm_module", "m" },
		                     { "wasm_shadow_module", "candidate.wasm" },
		                     { "wasm_shadow_share", "100" } };
	const struct wa_kv empty[] = { { "wasm_module", "m" }, { "wasm_shadow_module", "" } };
	const struct wa_kv zero[] = { { "wasm_module", "m" }, { "wasm_shadow_share", "0" } };

	CHECK_INT(parse(plain, 1, &cfg, err, sizeof err), 0);
	CHECK(cfg.shadow_module == NULL);
	CHECK_INT(cfg.shadow_share, WA_DEFAULT_SHADOW_SHARE);
	CHECK(cfg.log_prefix == NULL);
	CHECK_INT(parse(set, 3, &cfg, err, sizeof err), 0);
	CHECK(cfg.shadow_module != NULL); /* points into the options, freed by parse() */
	CHECK_INT(cfg.shadow_share, 100);
	CHECK_INT(parse(empty, 2, &cfg, err, sizeof err), -1);
	CHECK_STR(err, "option wasm_shadow_module: empty (the candidate policy .wasm file, or leave it out)");
	CHECK_INT(parse(zero, 2, &cfg, err, sizeof err), -1);
	CHECK_STR(err, "option wasm_shadow_share: \"0\" is not a whole number from 1 to 100");
}

/* wasm_login_thread (plugin-c/broker/login.h): off unless on. */
static void login_thread(void)
{
	struct wa_config cfg;
	char err[256];
	const struct wa_kv plain[] = { { "wasm_module", "m" } };
	const struct wa_kv on[] = { { "wasm_module", "m" }, { "wasm_login_thread", "on" } };
	const struct wa_kv bad[] = { { "wasm_module", "m" }, { "wasm_login_thread", "1" } };

	CHECK_INT(parse(plain, 1, &cfg, err, sizeof err), 0);
	CHECK_INT(cfg.login_thread, 0);
	CHECK_INT(parse(on, 2, &cfg, err, sizeof err), 0);
	CHECK_INT(cfg.login_thread, 1);
	CHECK_INT(parse(bad, 2, &cfg, err, sizeof err), -1);
	CHECK_STR(err, "option wasm_login_thread: \"1\" is neither on nor off");
}

/* wasm_sys_interval: the $SYS metrics' period (broker/metrics.h). */
static void sys_interval(void)
{
	struct wa_config cfg;
	char err[256];
	const struct wa_kv plain[] = { { "wasm_module", "m" } };
	const struct wa_kv off[] = { { "wasm_module", "m" }, { "wasm_sys_interval", "0" } };
	const struct wa_kv over[] = { { "wasm_module", "m" }, { "wasm_sys_interval", "86401" } };

	CHECK_INT(parse(plain, 1, &cfg, err, sizeof err), 0);
	CHECK_INT(cfg.sys_interval_s, WA_DEFAULT_SYS_INTERVAL_S);
	CHECK_INT(parse(off, 2, &cfg, err, sizeof err), 0);
	CHECK_INT(cfg.sys_interval_s, 0);
	CHECK_INT(parse(over, 2, &cfg, err, sizeof err), -1);
	CHECK_STR(err, "option wasm_sys_interval: \"86401\" is not a whole number from 0 to 86400");
}

int main(void)
{
	defaults();
	overrides();
	gate_caps();
	errors();
	unknown_names();
	events();
	sys_interval();
	shadow();
	login_thread();
	return check_done();
}
