/* Function body validation (temporary: locals only; full validation follows). */
#include "gate_internal.h"

int wa_body_validate(const struct wa_module *m, uint32_t funcidx, const struct wa_body *body,
                     struct wa_err *e)
{
	struct wa_rd r = { m->bytes, body->offset, body->offset + body->size };
	const char *why = "malformed";
	uint32_t groups;
	uint64_t total = 0;

	if(wa_rd_u32(&r, &groups, &why)) goto bad;
	for(uint32_t i = 0; i < groups; i++){
		uint32_t n;
		uint8_t t;
		if(wa_rd_u32(&r, &n, &why)) goto bad;
		total += n;
		if(total > WA_MAX_LOCALS_PER_FUNC){
			why = "too many locals";
			goto bad;
		}
		if(wa_rd_u8(&r, &t, &why)) goto bad;
	}
	if(r.end == r.pos || m->bytes[r.end - 1] != 0x0b){
		why = "END opcode expected";
		goto bad;
	}
	return 0;
bad:
	wa_err_set(e, "code section", funcidx, r.pos, "%s", why);
	return -1;
}
