#include <string.h>

#include "abi_marshal.h"

static uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint8_t *wa_mem_range(struct wa_mem m, uint32_t ptr, uint32_t len)
{
	if (ptr == 0 && len != 0) return NULL;
	if ((uint64_t)ptr + len > m.size) return NULL;
	return m.base + ptr;
}

int wa_mem_string(struct wa_mem m, uint32_t ptr, const uint8_t **data, uint32_t *len)
{
	const uint8_t *hdr;

	if (ptr < 4) return -1;
	hdr = wa_mem_range(m, ptr - 4, 4);
	if (!hdr) return -1;
	*len = get_u32le(hdr);
	if (*len % 2 != 0) return -1;
	*data = wa_mem_range(m, ptr, *len);
	return *data ? 0 : -1;
}

static uint32_t align4(uint32_t v)
{
	return (v + 3u) & ~3u;
}

uint32_t wa_marshal_options_size(const struct wa_options *opts)
{
	uint64_t total = WA_ALIGN_SLACK + 4u + (uint64_t)opts->count * 2u * WA_STR_BYTES;

	for (unsigned i = 0; i < opts->count; i++) {
		total += (uint64_t)opts->items[i].keylen + opts->items[i].valuelen;
	}
	return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

int wa_marshal_options(struct wa_mem m, uint32_t buf, uint32_t cap, const struct wa_options *opts, uint32_t *arg)
{
	uint32_t start = align4(buf);
	uint32_t need = wa_marshal_options_size(opts);
	uint32_t entry, data;

	if (buf == 0 || need > cap || start < buf) return -1;
	if (!wa_mem_range(m, buf, cap)) return -1;
	wa_put_u32le(m.base + start, opts->count);
	entry = start + 4u;
	data = entry + opts->count * 2u * WA_STR_BYTES;
	for (unsigned i = 0; i < opts->count; i++) {
		const struct wa_opt *o = &opts->items[i];
		const char *text[2] = { o->key, o->value };
		uint32_t len[2] = { (uint32_t)o->keylen, (uint32_t)o->valuelen };
		for (unsigned k = 0; k < 2; k++) {
			wa_put_u32le(m.base + entry, data);
			wa_put_u32le(m.base + entry + 4, len[k]);
			if (len[k]) memcpy(m.base + data, text[k], len[k]);
			data += len[k];
			entry += WA_STR_BYTES;
		}
	}
	*arg = start;
	return 0;
}
