/* Fuel metering (not yet implemented: refuses, so a caller that requires it fails closed). */
#include "gate_internal.h"

int wa_gate_meter(const uint8_t *bytes, size_t len, uint8_t **out, size_t *outlen,
                  char *err, size_t errlen)
{
	struct wa_err e = { err, errlen, false };
	(void)bytes; (void)len;
	*out = NULL;
	*outlen = 0;
	wa_err_set(&e, "metering", WA_NO_FUNC, WA_NO_OFF, "not implemented yet");
	return -1;
}
