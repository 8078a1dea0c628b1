#define _GNU_SOURCE /* dl_iterate_phdr, RTLD_DEFAULT */
#include <dlfcn.h>
#include <link.h>

#include "topic_leak.h"

/* mosquitto 2.0 keeps its VERSION ("2.0.11") as a string of its own in the executable's
 * read-only data; 2.1 exports mosquitto_plugin_set_info, which 2.0 does not have. */
#define SYMBOL_21      "mosquitto_plugin_set_info"
#define VERSION_PREFIX "2.0."
#define FIXED_IN_PATCH 15 /* 2.0.15 frees the replaced topic */

/* Whether d starts with the prefix; by hand, like every read here: see patch_in. */
__attribute__((no_sanitize_address)) static int has_prefix(const unsigned char *d)
{
	for (unsigned long k = 0; k < sizeof VERSION_PREFIX - 1; k++) {
		if (d[k] != (unsigned char)VERSION_PREFIX[k]) return 0;
	}
	return 1;
}

/* Every NUL-delimited "2.0.N" in the data: the one N, -1 if none, -2 if several differ. The
 * executable's segments hold the redzones AddressSanitizer puts around the globals of an
 * instrumented build (the C tests): mapped and readable, but poisoned, so nothing here is checked. */
__attribute__((no_sanitize_address)) static int patch_in(const unsigned char *d, unsigned long n, int found)
{
	const unsigned long plen = sizeof VERSION_PREFIX - 1;

	for (unsigned long i = 1; i + plen + 1 < n; i++) {
		unsigned long j = i + plen;
		int patch = 0, digits = 0;

		if (d[i - 1] != '\0' || !has_prefix(d + i)) continue;
		for (; j < n && d[j] >= '0' && d[j] <= '9' && digits < 3; j++, digits++)
			patch = patch * 10 + (d[j] - '0');
		if (!digits || j >= n || d[j] != '\0') continue;
		if (found == -1)
			found = patch;
		else if (found != patch)
			return -2;
	}
	return found;
}

int wa_topic_leak_from(int has_21_symbol, const unsigned char *const *data, const unsigned long *len, unsigned n)
{
	int patch = -1;

	if (has_21_symbol) return 0;
	for (unsigned i = 0; i < n && patch != -2; i++) patch = patch_in(data[i], len[i], patch);
	return patch >= 0 && patch < FIXED_IN_PATCH;
}

struct segments {
	const unsigned char *data[WA_TOPIC_LEAK_MAX_SEGMENTS];
	unsigned long len[WA_TOPIC_LEAK_MAX_SEGMENTS];
	unsigned n;
	unsigned long total;
};

/* The first object is the executable: its readable, non-writable, non-executable segments. */
static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct segments *s = arg;

	(void)size;
	for (unsigned i = 0; i < info->dlpi_phnum && s->n < WA_TOPIC_LEAK_MAX_SEGMENTS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R) || (ph->p_flags & (PF_W | PF_X))) continue;
		if (ph->p_filesz > WA_TOPIC_LEAK_MAX_SCAN_BYTES - s->total) break;
		s->data[s->n] = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		s->len[s->n++] = ph->p_filesz;
		s->total += ph->p_filesz;
	}
	return 1; /* the executable only */
}

int wa_broker_leaks_replaced_topic(void)
{
	struct segments s = { { 0 }, { 0 }, 0, 0 };

	if (dlsym(RTLD_DEFAULT, SYMBOL_21)) return 0;
	dl_iterate_phdr(collect, &s);
	return wa_topic_leak_from(0, s.data, s.len, s.n);
}
