/* The host<->guest ABI (docs/ABI.md) as data: hook exports and host imports with their wasm
 * signatures. The gate checks modules against these tables and the runtime links/calls by them,
 * so there is exactly one list. Signature strings use wasm3's notation: "i(ii)" = (i32,i32)->i32,
 * "v()" = no params, no result; F = f64. */
#ifndef WASM_AUTH_ABI_H
#define WASM_AUTH_ABI_H

#include "limits.h"

#define WA_EXPORT_ABI_VERSION "wasm_auth_abi_version" /* () -> i32 */
#define WA_EXPORT_BUFFER      "wasm_auth_buffer"      /* (i32) -> i32 */
#define WA_EXPORT_MEMORY      "memory"
#define WA_EXPORT_ACL_CACHEABLE "wasm_auth_acl_cacheable" /* () -> i32, optional: 1 = acl decisions may be cached */
#define WA_RESERVED_PREFIX    "__wasm_auth_"

enum wa_decision { WA_DENY = 0, WA_ALLOW = 1, WA_DEFER = 2 };

enum wa_hook {
	WA_HOOK_PLUGIN_INIT,
	WA_HOOK_PLUGIN_CLEANUP,
	WA_HOOK_SECURITY_INIT,
	WA_HOOK_SECURITY_CLEANUP,
	WA_HOOK_UNPWD_CHECK,
	WA_HOOK_ACL_CHECK,
	WA_HOOK_PSK_KEY_GET,
	WA_HOOK_COUNT
};

/* A hook may be exported with any one of its accepted signatures (NULL-terminated list). */
struct wa_hook_abi {
	const char *name;
	const char *signatures[3];
	int is_request; /* at least one request hook must be exported */
};

struct wa_import_abi {
	const char *module;
	const char *name;
	const char *signature;
	/* Non-NULL: what the answer depends on besides the arguments ("the time"...). A module that
	 * imports it may not declare its acl decisions cacheable (docs/ABI.md, "Decision cache"). */
	const char *varies;
};

extern const struct wa_hook_abi wa_hooks[WA_HOOK_COUNT];
extern const struct wa_import_abi wa_imports[];
extern const unsigned wa_import_count;

#endif
