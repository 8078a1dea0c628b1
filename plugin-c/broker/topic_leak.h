/* Which mosquitto frees the topic a MOSQ_EVT_MESSAGE callback replaces. mosquitto 2.0.0 to
 * 2.0.14 assign the new topic and forget the old one (ChangeLog 2.0.15: "Fix memory leak when a
 * plugin modifies the topic of a message in MOSQ_EVT_MESSAGE"); 2.0.15 and later, 2.1 included,
 * free it. The plugin frees the old topic itself only on a broker it has identified as one that
 * leaks it: freeing it on any other would be a double free, while not freeing it costs memory. */
#ifndef WASM_AUTH_TOPIC_LEAK_H
#define WASM_AUTH_TOPIC_LEAK_H

/* The version is looked for once, at load, in the executable's read-only segments: at most this
 * many of them and this many bytes in all (mosquitto 2.0's are well under 1 MiB). */
#define WA_TOPIC_LEAK_MAX_SEGMENTS   8u
#define WA_TOPIC_LEAK_MAX_SCAN_BYTES (64ul * 1024u * 1024u)

/* 1 if the broker this process runs is mosquitto 2.0.0 to 2.0.14 for certain, else 0. */
int wa_broker_leaks_replaced_topic(void);

/* The answer for a broker whose read-only data holds `data` (len bytes) and which has, or has
 * not, a symbol only mosquitto 2.1 exports. For the tests. */
int wa_topic_leak_from(int has_21_symbol, const unsigned char *const *data, const unsigned long *len, unsigned n);

#endif
