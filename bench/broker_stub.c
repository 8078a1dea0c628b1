/* Stand-ins for the broker functions a v5 plugin imports (see broker_stub.h). They do what the
 * 2.0.11 broker does for the calls a policy plugin makes on its hot path (accessors return the
 * client's fields, callbacks are kept in a table) and a harmless minimum for the rest. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_stub.h"

#include <mosquitto_plugin.h>
#include <mosquitto.h>

#define STUB_MAX_CALLBACKS 32

struct stub_cb {
	int event;
	MOSQ_FUNC_generic_callback fn;
	void *userdata;
	int used;
};

static struct stub_cb stub_cbs[STUB_MAX_CALLBACKS];
static bool stub_quiet;
static unsigned stub_errors;

MOSQ_FUNC_generic_callback stub_callback(int event, void **userdata)
{
	for (int i = 0; i < STUB_MAX_CALLBACKS; i++) {
		if (stub_cbs[i].used && stub_cbs[i].event == event) {
			if (userdata) *userdata = stub_cbs[i].userdata;
			return stub_cbs[i].fn;
		}
	}
	return NULL;
}

int stub_callback_count(void)
{
	int n = 0;
	for (int i = 0; i < STUB_MAX_CALLBACKS; i++) n += stub_cbs[i].used;
	return n;
}

void stub_set_log_quiet(bool quiet)
{
	stub_quiet = quiet;
}

unsigned stub_error_logs(void)
{
	return stub_errors;
}

int mosquitto_callback_register(mosquitto_plugin_id_t *identifier, int event, MOSQ_FUNC_generic_callback cb_func,
                                const void *event_data, void *userdata)
{
	(void)identifier;
	(void)event_data;
	if (cb_func == NULL) return MOSQ_ERR_INVAL;
	for (int i = 0; i < STUB_MAX_CALLBACKS; i++) {
		if (stub_cbs[i].used && stub_cbs[i].event == event && stub_cbs[i].fn == cb_func) {
			return MOSQ_ERR_ALREADY_EXISTS;
		}
	}
	for (int i = 0; i < STUB_MAX_CALLBACKS; i++) {
		if (!stub_cbs[i].used) {
			stub_cbs[i] = (struct stub_cb){ event, cb_func, userdata, 1 };
			return MOSQ_ERR_SUCCESS;
		}
	}
	return MOSQ_ERR_NOMEM;
}

int mosquitto_callback_unregister(mosquitto_plugin_id_t *identifier, int event, MOSQ_FUNC_generic_callback cb_func,
                                  const void *event_data)
{
	(void)identifier;
	(void)event_data;
	for (int i = 0; i < STUB_MAX_CALLBACKS; i++) {
		if (stub_cbs[i].used && stub_cbs[i].event == event && stub_cbs[i].fn == cb_func) {
			stub_cbs[i].used = 0;
			return MOSQ_ERR_SUCCESS;
		}
	}
	return MOSQ_ERR_NOT_FOUND;
}

void *mosquitto_calloc(size_t nmemb, size_t size)
{
	return calloc(nmemb, size);
}
void mosquitto_free(void *mem)
{
	free(mem);
}
void *mosquitto_malloc(size_t size)
{
	return malloc(size);
}
void *mosquitto_realloc(void *ptr, size_t size)
{
	return realloc(ptr, size);
}
char *mosquitto_strdup(const char *s)
{
	return strdup(s);
}

static const char *stub_needle;
static unsigned stub_matches;

void stub_watch_log(const char *needle)
{
	stub_needle = needle;
	stub_matches = 0;
}

unsigned stub_watched(void)
{
	return stub_matches;
}

void mosquitto_log_printf(int level, const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	if (level & MOSQ_LOG_ERR) stub_errors++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (stub_needle && strstr(line, stub_needle)) stub_matches++;
	if (stub_quiet && !(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))) return;
	fprintf(stderr, "[plugin log %d] %s\n", level, line);
}

static const struct stub_client *stub_c(const struct mosquitto *client)
{
	return (const struct stub_client *)(const void *)client;
}

const char *mosquitto_client_address(const struct mosquitto *client)
{
	return client ? stub_c(client)->address : NULL;
}

bool mosquitto_client_clean_session(const struct mosquitto *client)
{
	(void)client;
	return true;
}

const char *mosquitto_client_id(const struct mosquitto *client)
{
	return client ? stub_c(client)->id : NULL;
}

int mosquitto_client_keepalive(const struct mosquitto *client)
{
	(void)client;
	return 60;
}

void *mosquitto_client_certificate(const struct mosquitto *client)
{
	(void)client;
	return NULL;
}

int mosquitto_client_protocol(const struct mosquitto *client)
{
	(void)client;
	return mp_mqtt;
}

int mosquitto_client_protocol_version(const struct mosquitto *client)
{
	return client ? stub_c(client)->protocol_version : 0;
}

int mosquitto_client_sub_count(const struct mosquitto *client)
{
	(void)client;
	return 0;
}

const char *mosquitto_client_username(const struct mosquitto *client)
{
	return client ? stub_c(client)->username : NULL;
}

int mosquitto_set_username(struct mosquitto *client, const char *username)
{
	(void)client;
	(void)username;
	return MOSQ_ERR_NOT_SUPPORTED;
}

int mosquitto_kick_client_by_clientid(const char *clientid, bool with_will)
{
	(void)clientid;
	(void)with_will;
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_kick_client_by_username(const char *username, bool with_will)
{
	(void)username;
	(void)with_will;
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_broker_publish(const char *clientid, const char *topic, int payloadlen, void *payload, int qos,
                             bool retain, mosquitto_property *properties)
{
	(void)clientid;
	(void)topic;
	(void)payloadlen;
	(void)qos;
	(void)retain;
	/* The broker takes ownership of payload and properties. */
	free(payload);
	mosquitto_property_free_all(&properties);
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_broker_publish_copy(const char *clientid, const char *topic, int payloadlen, const void *payload, int qos,
                                  bool retain, mosquitto_property *properties)
{
	(void)clientid;
	(void)topic;
	(void)payloadlen;
	(void)payload;
	(void)qos;
	(void)retain;
	mosquitto_property_free_all(&properties);
	return MOSQ_ERR_SUCCESS;
}

/* The v4 entry points (mosquitto_plugin.h) of the one legacy plugin a harness process loads. */
typedef int (*v4_version_fn)(void);
typedef int (*v4_init_fn)(void **, struct mosquitto_opt *, int);
typedef int (*v4_cleanup_fn)(void *, struct mosquitto_opt *, int);
typedef int (*v4_security_fn)(void *, struct mosquitto_opt *, int, bool);
typedef int (*v4_acl_fn)(void *, int, struct mosquitto *, const struct mosquitto_acl_msg *);
typedef int (*v4_unpwd_fn)(void *, struct mosquitto *, const char *, const char *);

static struct {
	v4_init_fn plugin_init;
	v4_cleanup_fn plugin_cleanup;
	v4_security_fn security_init;
	v4_security_fn security_cleanup;
	v4_acl_fn acl_check;
	v4_unpwd_fn unpwd_check;
	mosquitto_plugin_id_t *identifier;
} stub_v4;

/* What 2.0.11's acl__check_single does before a v4 plugin sees a check: with
 * auth_plugin_deny_special_chars at its default (true), a username or client id containing + or #
 * is denied (a plugin's pattern rules must not see them), and UNSUBSCRIBE is allowed without asking.
 * Its mosquitto_acl_check fills the message the same way. */
static int stub_v4_acl(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	const char *username = mosquitto_client_username(ed->client);
	const char *id = mosquitto_client_id(ed->client);
	struct mosquitto_acl_msg msg;

	(void)event;
	if (username && strpbrk(username, "+#")) return MOSQ_ERR_ACL_DENIED;
	if (id && strpbrk(id, "+#")) return MOSQ_ERR_ACL_DENIED;
	if (ed->access == MOSQ_ACL_UNSUBSCRIBE) return MOSQ_ERR_SUCCESS;
	memset(&msg, 0, sizeof msg);
	msg.topic = ed->topic;
	msg.payloadlen = ed->payloadlen;
	msg.payload = ed->payload;
	msg.qos = ed->qos;
	msg.retain = ed->retain;
	return stub_v4.acl_check(userdata, ed->access, ed->client, &msg);
}

static int stub_v4_unpwd(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;

	(void)event;
	return stub_v4.unpwd_check(userdata, ed->client, ed->username, ed->password);
}

static void *stub_sym(void *dl, const char *name)
{
	void *f = dlsym(dl, name);
	if (f == NULL) fprintf(stderr, "inproc: a v4 plugin must export %s\n", name);
	return f;
}

int stub_v4_load(void *dl, const char *path)
{
	v4_version_fn version = (v4_version_fn)(uintptr_t)dlsym(dl, "mosquitto_auth_plugin_version");
	if (version == NULL) {
		fprintf(stderr, "inproc: %s is neither a v5 plugin nor a v4 auth plugin\n", path);
		return -1;
	}
	if (version() != 4) {
		fprintf(stderr, "inproc: %s: auth plugin API v%d (the stand-in drives v4 only)\n", path, version());
		return -1;
	}
	/* 2.0.11 loads plugins RTLD_GLOBAL: pyauth's Python needs it, since the extension modules it
	 * imports (_struct, _hashlib, ...) resolve libpython's symbols from the global scope. */
	if (dlopen(path, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL) == NULL) {
		fprintf(stderr, "inproc: %s\n", dlerror());
		return -1;
	}
	stub_v4.plugin_init = (v4_init_fn)(uintptr_t)stub_sym(dl, "mosquitto_auth_plugin_init");
	stub_v4.plugin_cleanup = (v4_cleanup_fn)(uintptr_t)stub_sym(dl, "mosquitto_auth_plugin_cleanup");
	stub_v4.security_init = (v4_security_fn)(uintptr_t)stub_sym(dl, "mosquitto_auth_security_init");
	stub_v4.security_cleanup = (v4_security_fn)(uintptr_t)stub_sym(dl, "mosquitto_auth_security_cleanup");
	stub_v4.acl_check = (v4_acl_fn)(uintptr_t)stub_sym(dl, "mosquitto_auth_acl_check");
	/* Optional in 2.0.11, as psk_key_get and the extended auth pair (not driven here) are. */
	stub_v4.unpwd_check = (v4_unpwd_fn)(uintptr_t)dlsym(dl, "mosquitto_auth_unpwd_check");
	if (!stub_v4.plugin_init || !stub_v4.plugin_cleanup || !stub_v4.security_init || !stub_v4.security_cleanup ||
	    !stub_v4.acl_check) {
		return -1;
	}
	return 0;
}

int stub_v4_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *opts, int opt_count)
{
	int rc = stub_v4.plugin_init(userdata, opts, opt_count);
	if (rc != MOSQ_ERR_SUCCESS) return rc;
	/* The broker runs every plugin's security_init once its configuration is loaded. */
	rc = stub_v4.security_init(*userdata, opts, opt_count, false);
	if (rc != MOSQ_ERR_SUCCESS) return rc;
	stub_v4.identifier = identifier;
	rc = mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, stub_v4_acl, NULL, *userdata);
	if (rc == MOSQ_ERR_SUCCESS && stub_v4.unpwd_check) {
		rc = mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, stub_v4_unpwd, NULL, *userdata);
	}
	return rc;
}

int stub_v4_cleanup(void *userdata, struct mosquitto_opt *opts, int opt_count)
{
	mosquitto_callback_unregister(stub_v4.identifier, MOSQ_EVT_ACL_CHECK, stub_v4_acl, NULL);
	if (stub_v4.unpwd_check)
		mosquitto_callback_unregister(stub_v4.identifier, MOSQ_EVT_BASIC_AUTH, stub_v4_unpwd, NULL);
	int rc = stub_v4.security_cleanup(userdata, opts, opt_count, false);
	int rc2 = stub_v4.plugin_cleanup(userdata, opts, opt_count);
	return rc != MOSQ_ERR_SUCCESS ? rc : rc2;
}
