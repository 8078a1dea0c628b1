/* Stand-ins for the broker functions a v5 plugin imports (see broker_stub.h). They do what the
 * 2.0.11 broker does for the calls a policy plugin makes on its hot path (accessors return the
 * client's fields, callbacks are kept in a table) and a harmless minimum for the rest. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_stub.h"

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
