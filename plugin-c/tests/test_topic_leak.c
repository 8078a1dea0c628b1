/* Which brokers the plugin frees a replaced message topic for (topic_leak.h): only one whose
 * read-only data names a single 2.0.N version below 2.0.15 and that lacks 2.1's symbol. */
#include <string.h>

#include "check.h"
#include "../broker/topic_leak.h"

static int leaks(int has21, const char *data, unsigned long len)
{
	const unsigned char *d[1] = { (const unsigned char *)data };
	unsigned long l[1] = { len };
	return wa_topic_leak_from(has21, d, l, 1);
}

#define LEAKS(has21, lit) leaks(has21, lit, sizeof lit - 1)

int main(void)
{
	CHECK_INT(LEAKS(0, "x\0"
	                   "2.0.11\0"
	                   "y"),
	          1);
	CHECK_INT(LEAKS(0, "\0"
	                   "2.0.0\0"),
	          1);
	CHECK_INT(LEAKS(0, "\0"
	                   "2.0.14\0"),
	          1);
	CHECK_INT(LEAKS(0, "\0"
	                   "2.0.15\0"),
	          0);
	CHECK_INT(LEAKS(0, "\0"
	                   "2.0.22\0"),
	          0);
	CHECK_INT(LEAKS(1, "\0"
	                   "2.0.11\0"),
	          0);                                /* 2.1 exports its symbol: it frees */
	CHECK_INT(LEAKS(0, "no version here\0"), 0); /* unknown: never freed by the plugin */
	CHECK_INT(LEAKS(0, "\0"
	                   "2.0.11\0"
	                   "2.0.18\0"),
	          0); /* two different versions: unknown */
	CHECK_INT(LEAKS(0, "\0"
	                   "2.0.11\0"
	                   "2.0.11\0"),
	          1); /* the same one twice */
	CHECK_INT(LEAKS(0, "\0"
	                   "v2.0.11\0"
	                   "\0"
	                   "2.0.11x\0"),
	          0); /* not the whole string */
	CHECK_INT(LEAKS(0, "\0"
	                   "2.0.1111\0"),
	          0); /* more than three digits */
	CHECK_INT(LEAKS(0, "\0"
	                   "2.0.11"),
	          0); /* not terminated within the data */
	/* This test's own executable names no mosquitto version. */
	CHECK_INT(wa_broker_leaks_replaced_topic(), 0);
	return check_done();
}
