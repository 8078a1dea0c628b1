/* Test oracle: answers topic filter matches with libmosquitto itself, for the Node host's
 * topic test. Reads "FILTER\tTOPIC\n" lines on stdin, prints one line per input:
 * "MATCH VALID" where MATCH is 1 match, 0 no match, -1 invalid (MOSQ_ERR_INVAL), as the
 * topic_matches_sub import reports it, and VALID is 1 when mosquitto_sub_topic_check accepts
 * the filter. */
#include <stdio.h>
#include <string.h>
#include <mosquitto.h>

int main(void)
{
	char line[4096];

	while (fgets(line, sizeof line, stdin)) {
		char *tab = strchr(line, '\t');
		char *nl = strchr(line, '\n');
		bool result = false;
		int rc;

		if (!tab || !nl) {
			fprintf(stderr, "topic_oracle: malformed input line\n");
			return 2;
		}
		*tab = '\0';
		*nl = '\0';
		rc = mosquitto_topic_matches_sub(line, tab + 1, &result);
		printf("%d %d\n", rc == MOSQ_ERR_SUCCESS ? (result ? 1 : 0) : -1,
		       mosquitto_sub_topic_check(line) == MOSQ_ERR_SUCCESS);
	}
	return 0;
}
