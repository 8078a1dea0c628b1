/* A client's grants (docs/ABI.md, "Grants"): the topic filters the policy says it may read or
 * write, copied out of guest memory once, then matched natively on every READ and WRITE check. */
#ifndef WASM_AUTH_GRANTS_H
#define WASM_AUTH_GRANTS_H

#include <stddef.h>
#include <stdint.h>

#include "abi_marshal.h"

struct wa_grants;

/* What wa_grants_decide answers when the grants leave the check to acl_check. */
#define WA_GRANTS_ASK 3

/* Copies the guest's Grants descriptor at ptr. NULL with a one-line reason in err when it is
 * out of bounds, over a cap or malformed, or memory is short. ptr 0: grants that ask acl_check
 * for everything. */
struct wa_grants *wa_grants_read(struct wa_mem m, uint32_t ptr, char *err, size_t errlen);
void wa_grants_free(struct wa_grants *g);

/* Bytes the copy holds (for the cache's memory cap). */
size_t wa_grants_bytes(const struct wa_grants *g);

/* enum wa_decision, or WA_GRANTS_ASK. topic is NUL-terminated. */
int wa_grants_decide(const struct wa_grants *g, const char *topic, int access);

#endif
