/* wasm-auth-check: the module gate as a command, so policy authors see at build time exactly
 * what the plugin would say at load time (same checks, same message).
 *   wasm-auth-check [options] FILE.wasm...
 * Exit 0 if every file is accepted, 1 if any is refused, 2 on a usage error. */
#define _POSIX_C_SOURCE 200809L /* open, fstat, O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../gate/gate.h"
#include "../runtime/module_file.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: wasm-auth-check [options] FILE.wasm...\n"
	        "  Checks policy modules exactly as the mosquitto plugin does before loading them.\n"
	        "  --validate-only          WebAssembly validation against the feature profile only\n"
	        "                           (no caps, no ABI rules)\n"
	        "  --max-module-bytes N     cap (default %u, plugin_opt_wasm_max_module_bytes)\n"
	        "  --max-memory-pages N     cap (default %u, plugin_opt_wasm_max_memory_pages)\n"
	        "  --max-table-elems N      cap (default %u, plugin_opt_wasm_max_table_elems)\n"
	        "  --max-functions N        cap (default %u, plugin_opt_wasm_max_functions)\n"
	        "  --max-globals N          cap (default %u, plugin_opt_wasm_max_globals)\n"
	        "  --max-data-bytes N       cap (default %u, plugin_opt_wasm_max_data_bytes)\n"
	        "  --meter OUT.wasm         also write the fuel-metered module the plugin would run\n"
	        "                           (one FILE only)\n",
	        WA_MAX_MODULE_BYTES, WA_MAX_MEMORY_PAGES, WA_MAX_TABLE_ELEMS, WA_MAX_FUNCTIONS, WA_MAX_GLOBALS,
	        WA_MAX_DATA_BYTES);
}

static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || end == s || *end || x > UINT32_MAX || s[0] == '-') return -1;
	*v = (uint32_t)x;
	return 0;
}

static void print_summary(const char *path, const struct wa_gate_report *rep, size_t len, bool validate_only)
{
	char hooks[256] = "";
	size_t n = 0;

	if (validate_only) {
		printf("%s: valid: %u functions (%u imported), %u memory pages, %zu bytes\n", path, rep->functions,
		       rep->imports, rep->memory_pages, len);
		return;
	}
	for (int h = 0; h < WA_HOOK_COUNT; h++) {
		if (!(rep->hooks & (1u << h))) continue;
		int w = snprintf(hooks + n, sizeof hooks - n, "%s%s", n ? "," : "", wa_hooks[h].name);
		if (w < 0 || (size_t)w >= sizeof hooks - n) break;
		n += (size_t)w;
	}
	printf("%s: ok: hooks %s; %u functions (%u imported); %u memory pages; %zu bytes\n", path, hooks,
	       rep->functions, rep->imports, rep->memory_pages, len);
}

static int write_file(const char *path, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		if (f) fclose(f);
		return -1;
	}
	if (fclose(f)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int check_one(const char *path, const struct wa_gate_config *cfg, const char *meter_out)
{
	char err[WA_GATE_ERR_LEN];
	struct wa_gate_report rep;
	size_t len = 0, cap;
	uint8_t *bytes = NULL;
	int rc = -1;

	/* validate-only has no size cap of its own; 1 GiB keeps a stray argument from exhausting memory.
	 * The file is read as the plugin reads it, with the same messages. */
	cap = cfg->validate_only ? (size_t)1 << 30 : cfg->caps.max_module_bytes;
	if (wa_module_file_read(path, cap, &bytes, &len, err, sizeof err) != 0) bytes = NULL;
	if (bytes) {
		rc = wa_gate_check(bytes, len, cfg, &rep, err, sizeof err);
		if (rc == 0 && meter_out) {
			struct wa_meter_report mrep; /* the plugin's form: what the host pays is its business */
			uint8_t *out;
			size_t outlen;
			rc = wa_gate_meter(bytes, len, &out, &outlen, &mrep, err, sizeof err);
			if (rc == 0) {
				rc = write_file(meter_out, out, outlen, err, sizeof err);
				free(out);
			}
		}
		free(bytes);
	}
	if (rc) {
		fprintf(stderr, "wasm-auth: " WA_GATE_REFUSED_FMT "\n", path, err);
		return 1;
	}
	print_summary(path, &rep, len, cfg->validate_only);
	return 0;
}

/* A usage error: one line naming what is wrong, exit status 2. */
static int bad_usage(const char *fmt, const char *a, const char *b)
{
	fputs("wasm-auth-check: ", stderr);
	fprintf(stderr, fmt, a, b);
	fputs(" (wasm-auth-check --help for usage)\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct wa_gate_config cfg;
	const char *meter_out = NULL;
	int i, status = 0, nfiles;

	/* One line per file: summaries on stdout, refusals on stderr; each names its file, so
	 * callers checking many files at once (the conformance runner) can parse either stream. */
	wa_gate_config_defaults(&cfg);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		static const struct {
			const char *flag;
			size_t off;
		} caps[] = {
			{ "--max-module-bytes", offsetof(struct wa_gate_config, caps.max_module_bytes) },
			{ "--max-memory-pages", offsetof(struct wa_gate_config, caps.max_memory_pages) },
			{ "--max-table-elems", offsetof(struct wa_gate_config, caps.max_table_elems) },
			{ "--max-functions", offsetof(struct wa_gate_config, caps.max_functions) },
			{ "--max-globals", offsetof(struct wa_gate_config, caps.max_globals) },
			{ "--max-data-bytes", offsetof(struct wa_gate_config, caps.max_data_bytes) },
		};
		const char *a = argv[i];
		bool known = false;

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--validate-only")) {
			cfg.validate_only = true;
			continue;
		}
		for (size_t k = 0; k < sizeof caps / sizeof caps[0] && !known; k++) {
			if (strcmp(a, caps[k].flag)) continue;
			known = true;
			if (i + 1 >= argc) return bad_usage("%s needs a value%s", a, "");
			if (parse_u32(argv[++i], (uint32_t *)((char *)&cfg + caps[k].off))) {
				return bad_usage("%s: \"%s\" is not a whole number from 0 to 4294967295", a, argv[i]);
			}
		}
		if (known) continue;
		if (!strcmp(a, "--meter")) {
			if (i + 1 >= argc) return bad_usage("%s needs a value%s", a, "");
			meter_out = argv[++i];
			continue;
		}
		return bad_usage("unknown option %s%s", a, "");
	}
	nfiles = argc - i;
	if (nfiles < 1) return bad_usage("no FILE.wasm given%s%s", "", "");
	if (meter_out && nfiles != 1) return bad_usage("--meter takes exactly one FILE.wasm%s%s", "", "");
	for (; i < argc; i++) {
		if (check_one(argv[i], &cfg, meter_out)) status = 1;
	}
	return status;
}
