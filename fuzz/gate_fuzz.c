/* libFuzzer target for the module gate: any bytes go through wa_gate_check() twice (the
 * plugin's full check and --validate-only) and, when valid, through wa_gate_meter().
 * Besides "no crash, no leak, no undefined behaviour" (ASan/UBSan/LeakSanitizer), it checks the
 * gate's own promises and aborts when one is broken, so libFuzzer saves the input:
 *   - the check is pure: the same bytes give the same answer and the same message;
 *   - a rejection always comes with a one-line message, an acceptance with none;
 *   - the full check is validation plus rules: it never accepts what validation rejects;
 *   - every valid module can be metered (unless it already has the fuel global's reserved
 *     name), and the metered copy is itself valid, keeps the function count, and fails
 *     the full check (caps widened by its one extra global and its growth) only for its
 *     reserved fuel export, if the original passed it;
 *   - wa_gate_check_meter() (the plugin's single-decode path) gives exactly what
 *     wa_gate_check() then wa_gate_meter() give: outcome, message, bytes, entry charges. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin-c/gate/gate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail)
{
	fprintf(stderr, "gate_fuzz: invariant broken: %s: %s\n", what, detail);
	abort();
}

/* Runs the check twice and insists on the same outcome; returns it. */
static int check(const uint8_t *b, size_t n, const struct wa_gate_config *cfg, struct wa_gate_report *rep, char *err,
                 size_t errlen)
{
	char err2[WA_GATE_ERR_LEN];
	int rc = wa_gate_check(b, n, cfg, rep, err, errlen);
	int rc2 = wa_gate_check(b, n, cfg, NULL, err2, sizeof err2);

	if (rc != 0 && rc != -1) broken("return value", "neither 0 nor -1");
	if (rc != rc2 || strcmp(err, err2)) broken("not deterministic", err);
	if (rc == 0 && err[0]) broken("accepted with a message", err);
	if (rc != 0 && !err[0]) broken("rejected without a message", "(empty)");
	if (strchr(err, '\n')) broken("message spans lines", err);
	return rc;
}

/* rc/err: wa_gate_check()'s verdict under cfg for the same bytes. */
static void same_as_check_then_meter(const uint8_t *b, size_t n, const struct wa_gate_config *cfg, int rc,
                                     const char *err)
{
	struct wa_gate_report rep;
	struct wa_meter_report one, two;
	char err1[WA_GATE_ERR_LEN], err2[WA_GATE_ERR_LEN];
	uint8_t *out1 = NULL, *out2 = NULL;
	size_t len1 = 0, len2 = 0;
	int rc1 = wa_gate_check_meter(b, n, cfg, &rep, &out1, &len1, &one, err1, sizeof err1);

	if (rc != 0) {
		if (rc1 == 0 || strcmp(err, err1)) broken("check_meter disagrees with check", err1);
		free(out1);
		return;
	}
	if (wa_gate_meter(b, n, &out2, &len2, &two, err2, sizeof err2)) {
		if (rc1 == 0 || strcmp(err1, err2)) broken("check_meter disagrees with meter's refusal", err2);
	} else if (rc1 != 0) {
		broken("check_meter refuses what check and meter accept", err1);
	} else if (len1 != len2 || memcmp(out1, out2, len1)) {
		broken("check_meter's bytes differ from meter's", "");
	} else {
		for (unsigned i = 0; i < WA_HOOK_COUNT; i++) {
			if (one.hook_entry_fuel[i] != two.hook_entry_fuel[i])
				broken("check_meter's entry charges differ", "");
		}
	}
	free(out1);
	free(out2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wa_gate_config full, vo;
	struct wa_gate_report rep_full, rep_vo, rep_m;
	struct wa_meter_report mrep;
	char err_full[WA_GATE_ERR_LEN], err_vo[WA_GATE_ERR_LEN], err_m[WA_GATE_ERR_LEN];
	uint8_t *out = NULL;
	size_t outlen = 0;
	int rc_full, rc_vo;

	wa_gate_config_defaults(&full);
	wa_gate_config_defaults(&vo);
	vo.validate_only = true;

	rc_full = check(data, size, &full, &rep_full, err_full, sizeof err_full);
	same_as_check_then_meter(data, size, &full, rc_full, err_full);
	rc_vo = check(data, size, &vo, &rep_vo, err_vo, sizeof err_vo);
	if (rc_full == 0 && rc_vo != 0) broken("full check accepts what validation rejects", err_vo);
	if (rc_vo != 0) return 0;

	if (wa_gate_meter(data, size, &out, &outlen, &mrep, err_m, sizeof err_m)) {
		/* A valid module may only be refused for owning the fuel global's name (which the full
		 * check refuses too) or for lack of memory. */
		if (rc_full == 0 || !(strstr(err_m, WA_FUEL_GLOBAL) || strstr(err_m, "out of memory") ||
		                      strstr(err_m, "no room for the fuel global"))) {
			broken("metering refused a valid module", err_m);
		}
		return 0;
	}
	if (check(out, outlen, &vo, &rep_m, err_m, sizeof err_m)) {
		/* The gate keeps one frame and two operands below wasm3's limits for what metering adds
		 * (gate_internal.h), so a module at those limits is refused once metered: by an
		 * implementation limit, never by a validation rule (wa_gate_meter already re-validated
		 * its output against wasm3's own limits). */
		if (!strstr(err_m, "(implementation limit)")) broken("metered module is invalid", err_m);
		free(out);
		return 0;
	}
	if (rep_m.functions != rep_vo.functions) broken("metering changed the function count", "");
	if (rc_full == 0) {
		/* Metering adds one global and some bytes: allow for both, so only the rules remain. */
		full.caps.max_globals += 1;
		full.caps.max_module_bytes = UINT32_MAX;
		if (!check(out, outlen, &full, NULL, err_m, sizeof err_m)) {
			broken("metered module passes the full check", "its fuel export must be reserved");
		}
		if (!strstr(err_m, WA_RESERVED_PREFIX)) broken("metered module fails the full check", err_m);
	}
	free(out);
	return 0;
}
