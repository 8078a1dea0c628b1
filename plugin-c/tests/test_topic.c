/* wa_topic_matches_sub against libmosquitto's mosquitto_topic_matches_sub2, the definition of
 * "same semantics": every pair of short strings over an alphabet holding all the special bytes,
 * then hand-picked longer cases. */
#include <stdbool.h>
#include <string.h>
#include <mosquitto.h>

#include "check.h"
#include "../runtime/topic.h"

static int reference(const char *sub, const char *topic)
{
	bool match = false;
	int rc = mosquitto_topic_matches_sub2(sub, strlen(sub), topic, strlen(topic), &match);
	if (rc != MOSQ_ERR_SUCCESS) return -1;
	return match ? 1 : 0;
}

static int ours(const char *sub, const char *topic)
{
	return wa_topic_matches_sub(sub, strlen(sub), topic, strlen(topic));
}

#define ALPHABET "ab/+#$"
#define MAXLEN   4
#define MAXSTR   2000

static char corpus[MAXSTR][MAXLEN + 1];
static unsigned ncorpus;

static void build_corpus(char *prefix, unsigned len)
{
	if (len > 0) {
		prefix[len] = '\0';
		memcpy(corpus[ncorpus++], prefix, len + 1);
	}
	if (len == MAXLEN) return;
	for (const char *c = ALPHABET; *c; c++) {
		prefix[len] = *c;
		build_corpus(prefix, len + 1);
	}
}

static void exhaustive(void)
{
	char prefix[MAXLEN + 1];
	unsigned mismatches = 0, counts[3] = { 0, 0, 0 };

	build_corpus(prefix, 0);
	for (unsigned i = 0; i < ncorpus; i++) {
		for (unsigned j = 0; j < ncorpus; j++) {
			int want = reference(corpus[i], corpus[j]);
			int got = ours(corpus[i], corpus[j]);
			counts[want + 1]++;
			if (got != want && mismatches++ < 20) {
				fprintf(stderr, "sub \"%s\" topic \"%s\": got %d, mosquitto says %d\n", corpus[i],
				        corpus[j], got, want);
			}
		}
	}
	printf("compared %u pairs: %u invalid, %u no match, %u match\n", ncorpus * ncorpus, counts[0], counts[1],
	       counts[2]);
	CHECK_INT(mismatches, 0);
	/* The corpus must exercise all three answers, or the comparison proves little. */
	CHECK(counts[0] > 1000 && counts[1] > 1000 && counts[2] > 1000);
}

static const char *const cases[][2] = {
	{ "sensors/+/temp", "sensors/kitchen/temp" },
	{ "sensors/+/temp", "sensors/kitchen/humidity" },
	{ "sensors/#", "sensors" },
	{ "sensors/#", "sensors/a/b/c" },
	{ "+/+", "/finance" },
	{ "/+", "/finance" },
	{ "+", "/finance" },
	{ "#", "$SYS/broker/uptime" },
	{ "$SYS/#", "$SYS/broker/uptime" },
	{ "+/broker/uptime", "$SYS/broker/uptime" },
	{ "a/b/c/d/e/f/g", "a/b/c/d/e/f/g" },
	{ "a/+/c/+/e/#", "a/b/c/d/e/f/g/h" },
	{ "a/+/#", "a/b" },
	{ "a/+/#x", "a/b" },
	{ "a//b", "a//b" },
	{ "a/#/b", "a/x/b" },
	{ "a/b+", "a/bc" },
	{ "a/b#", "c" },
	{ "client/+/status", "client/with+plus/status" },
	{ "long/filter/level/with/many/parts/and/a/wildcard/+", "long/filter/level/with/many/parts/and/a/wildcard/" },
};

static void named_cases(void)
{
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int want = reference(cases[i][0], cases[i][1]);
		int got = ours(cases[i][0], cases[i][1]);
		if (!CHECK_INT(got, want)) fprintf(stderr, "  sub \"%s\" topic \"%s\"\n", cases[i][0], cases[i][1]);
	}
	/* What a C string cannot say: lengths that exclude a NUL, and embedded NULs. */
	CHECK_INT(wa_topic_matches_sub("a/b", 3, "a/bc", 3), 1);
	CHECK_INT(wa_topic_matches_sub("a\0b", 3, "a\0b", 3), -1);
	CHECK_INT(wa_topic_matches_sub("", 0, "a", 1), -1);
	CHECK_INT(wa_topic_matches_sub("a", 1, "", 0), -1);
}

int main(void)
{
	exhaustive();
	named_cases();
	return check_done();
}
