#include <stddef.h>
#include "abi.h"

const struct wa_hook_abi wa_hooks[WA_HOOK_COUNT] = {
	[WA_HOOK_PLUGIN_INIT] = { "plugin_init", { "v(i)", "i(i)", 0 }, 0 },
	[WA_HOOK_PLUGIN_CLEANUP] = { "plugin_cleanup", { "v()", 0 }, 0 },
	[WA_HOOK_SECURITY_INIT] = { "security_init", { "v(ii)", "i(ii)", 0 }, 0 },
	[WA_HOOK_SECURITY_CLEANUP] = { "security_cleanup", { "v(i)", 0 }, 0 },
	[WA_HOOK_UNPWD_CHECK] = { "unpwd_check", { "i(ii)", 0 }, 1 },
	[WA_HOOK_ACL_CHECK] = { "acl_check", { "i(iiii)", "i(iiiiiii)", 0 }, 1 },
	[WA_HOOK_PSK_KEY_GET] = { "psk_key_get", { "i(ii)", 0 }, 1 },
	[WA_HOOK_ON_DISCONNECT] = { "on_disconnect", { "v(ii)", 0 }, 0 },
	[WA_HOOK_ON_TICK] = { "on_tick", { "v()", 0 }, 0 },
	[WA_HOOK_SESSION_CHECK] = { "session_check", { "i(ii)", 0 }, 0 },
	[WA_HOOK_ON_MESSAGE] = { "on_message", { "i(iiiiii)", 0 }, 1 },
	[WA_HOOK_EXT_AUTH_START] = { "ext_auth_start", { "i(iii)", 0 }, 0 },
	[WA_HOOK_EXT_AUTH_CONTINUE] = { "ext_auth_continue", { "i(iii)", 0 }, 0 },
	[WA_HOOK_ON_MESSAGE_OUT] = { "on_message_out", { "i(iiiiii)", 0 }, 0 },
	[WA_HOOK_ON_SUBSCRIBE] = { "on_subscribe", { "i(iiii)", 0 }, 0 },
};

const struct wa_import_abi wa_imports[] = {
	{ "mosquitto", "topic_matches_sub", "i(iiii)", NULL },
	{ "mosquitto", "log", "v(iii)", NULL },
	{ "mosquitto", "client_id", "i(ii)", NULL },
	{ "mosquitto", "client_address", "i(ii)", "the client's address" },
	{ "mosquitto", "client_protocol_version", "i()", "the client's protocol version" },
	{ "mosquitto", "pw_verify", "i(iiii)", NULL },
	{ "mosquitto", "option_file_size", "i(ii)", NULL },
	{ "mosquitto", "option_file_read", "i(iiii)", NULL },
	{ "mosquitto", "option_file_read_at", "i(iiIii)", NULL },
	{ "mosquitto", "kick_client", "i(ii)", NULL },
	{ "mosquitto", "kick_user", "i(ii)", NULL },
	{ "mosquitto", "publish", "i(iiiiii)", NULL },
	/* jwt_verify: exp and nbf are checked against the clock, so it varies with the time. */
	{ "mosquitto", "jwt_verify", "i(iiiiiii)", "the time" },
	{ "mosquitto", "message_set_topic", "v(ii)", NULL },
	{ "mosquitto", "message_set_payload", "v(ii)", NULL },
	{ "mosquitto", "message_set_retain", "v(i)", NULL },
	{ "mosquitto", "set_reason", "i(ii)", NULL },
	{ "mosquitto", "reasons_wanted", "i()", NULL },
	/* Enhanced authentication and its SHA-256 family (docs/ABI.md): grouped with mosquitto's so
	 * that the gate's allowed list names each module once. */
	{ "mosquitto", "auth_data_out", "i(ii)", NULL },
	{ "mosquitto", "sha256", "i(iii)", NULL },
	{ "mosquitto", "hmac_sha256", "i(iiiii)", NULL },
	{ "mosquitto", "pbkdf2_sha256", "i(iiiiii)", NULL },
	{ "mosquitto", "subscribe_set_topic", "v(ii)", NULL },
	{ "mosquitto", "subscribe_set_qos", "v(i)", NULL },
	{ "env", "abort", "v(iiii)", NULL },
	{ "env", "trace", "v(iiFFFFF)", NULL },
	{ "env", "seed", "F()", "randomness" },
	{ "env", "Date.now", "F()", "the time" },
};
const unsigned wa_import_count = sizeof wa_imports / sizeof wa_imports[0];
