/* MQTT topic filter matching with exactly mosquitto_topic_matches_sub()'s results, so the
 * runtime (and wa-call, and the tests) need no broker. */
#ifndef WASM_AUTH_TOPIC_H
#define WASM_AUTH_TOPIC_H

#include <stddef.h>

/* 1 = topic matches the filter sub, 0 = no match, -1 = invalid filter or topic (including an
 * empty one or an embedded NUL byte, which a C string could not carry). Like mosquitto, a
 * filter is only checked as far as needed to decide: a mismatch found early may answer 0 for a
 * filter that is malformed further on. */
int wa_topic_matches_sub(const char *sub, size_t sublen, const char *topic, size_t topiclen);

/* 1 when f (n bytes) is a subscription filter mosquitto accepts: not empty, '+' and '#' alone in
 * their level, '#' last, no NUL. UTF-8 is not checked here. */
int wa_filter_valid(const unsigned char *f, size_t n);

#endif
