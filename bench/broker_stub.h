/* A stand-in for the part of mosquitto 2.0.11 that a v5 plugin calls (mosquitto_broker.h), so a
 * plugin .so can be dlopen'ed and driven without a broker (bench/inproc.c). The harness links
 * with -rdynamic so the plugin resolves these symbols here; the topic helpers
 * (mosquitto_topic_matches_sub etc.) come from libmosquitto, the same code the broker embeds.
 * A legacy auth plugin (API v4, e.g. the seed mosquitto_pyauth) is driven through v5 callbacks
 * that call it as 2.0.11's security.c does (stub_v4_*). */
#ifndef BENCH_BROKER_STUB_H
#define BENCH_BROKER_STUB_H

#include <stdbool.h>

#include <mosquitto_broker.h>

/* What the stand-in accessors return for a `struct mosquitto *`: the harness passes pointers to
 * these, cast, as the opaque client. */
struct stub_client {
	const char *id;
	const char *username;
	const char *address;
	int protocol_version; /* 3, 4 or 5 */
};

static inline struct mosquitto *stub_as_client(struct stub_client *c)
{
	return (struct mosquitto *)(void *)c;
}

/* The callback the plugin registered for `event` (first one), or NULL; *userdata receives its
 * userdata. */
MOSQ_FUNC_generic_callback stub_callback(int event, void **userdata);

/* Number of callbacks currently registered (all events). */
int stub_callback_count(void);

/* When quiet, only ERR and WARNING lines go to stderr. */
void stub_set_log_quiet(bool quiet);

/* Count of ERR lines the plugin logged. */
unsigned stub_error_logs(void);

/* Counts, from now on, the lines the plugin logs that contain needle (a string that outlives
 * the watch); stub_watched() says how many so far. */
void stub_watch_log(const char *needle);
unsigned stub_watched(void);

/* Legacy auth plugins (mosquitto_auth_plugin_version() == 4). stub_v4_load takes an open library
 * that exports no mosquitto_plugin_version: 0 when it is a v4 plugin with the functions 2.0.11
 * requires (its symbols are then in the global scope, as 2.0.11's RTLD_GLOBAL load puts them),
 * -1 with a message on stderr otherwise. stub_v4_init and stub_v4_cleanup have the v5 entry
 * points' signatures: init runs the plugin's plugin_init and security_init and registers
 * ACL_CHECK and BASIC_AUTH callbacks that call its acl_check and unpwd_check; cleanup undoes it. */
int stub_v4_load(void *dl, const char *path);
int stub_v4_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *opts, int opt_count);
int stub_v4_cleanup(void *userdata, struct mosquitto_opt *opts, int opt_count);

#endif
