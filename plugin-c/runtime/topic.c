#include <string.h>

#include "topic.h"

/* The matcher walks filter and topic together, byte by byte, and validates only what it passes
 * over: that is what makes its answers for malformed filters identical to mosquitto's (which
 * e.g. answers "no match" for "a/b#" against "c" but "invalid" against "a/bc"). Indices past
 * the end read as NUL, mirroring the C strings mosquitto works on. */

static char byte_at(const char *s, size_t n, size_t i)
{
	return i < n ? s[i] : '\0';
}

static int is_wildcard(char c)
{
	return c == '+' || c == '#';
}

/* A topic never contains wildcards: -1 if the rest of it does, else `answer`. */
static int finish_topic(const char *topic, size_t tn, size_t ti, int answer)
{
	for (; ti < tn; ti++) {
		if (is_wildcard(topic[ti])) return -1;
	}
	return answer;
}

/* No match was found at sub[si]; the answer is 0 unless a '#' further on is not the last byte. */
static int finish_filter(const char *sub, size_t sn, size_t si)
{
	for (; si < sn; si++) {
		if (sub[si] == '#' && si + 1 < sn) return -1;
	}
	return 0;
}

/* A wildcard must fill its whole level: preceded by '/' (or the start), followed by '/' or the
 * end ('#' only by the end). */
static int wildcard_placed_well(const char *sub, size_t sn, size_t si)
{
	if (si > 0 && sub[si - 1] != '/') return 0;
	if (si + 1 < sn && (sub[si] == '#' || sub[si + 1] != '/')) return 0;
	return 1;
}

int wa_topic_matches_sub(const char *sub, size_t sn, const char *topic, size_t tn)
{
	size_t si = 0, ti = 0;

	if (!sub || !topic || sn == 0 || tn == 0) return -1;
	if (memchr(sub, '\0', sn) || memchr(topic, '\0', tn)) return -1;
	/* "$SYS/..." style topics are only matched by filters that start with '$' themselves. */
	if ((sub[0] == '$') != (topic[0] == '$')) return 0;

	while (si < sn) {
		char s = sub[si];
		char t = byte_at(topic, tn, ti);

		if (is_wildcard(t)) return -1;

		if (ti < tn && s == t) {
			/* Last topic byte, filter continues with exactly "/#": "a" matches "a/#". */
			if (ti + 1 == tn && sn == si + 3 && sub[si + 1] == '/' && sub[si + 2] == '#') return 1;
			si++;
			ti++;
			if (si == sn && ti == tn) return 1;
			/* Topic ends in '/', filter in "/+": the empty last level matches. */
			if (ti == tn && si + 1 == sn && sub[si] == '+') {
				return wildcard_placed_well(sub, sn, si) ? 1 : -1;
			}
			continue;
		}

		if (s == '+') {
			if (!wildcard_placed_well(sub, sn, si)) return -1;
			si++;
			while (ti < tn && topic[ti] != '/') {
				if (is_wildcard(topic[ti])) return -1;
				ti++;
			}
			if (si == sn && ti == tn) return 1;
			continue;
		}

		if (s == '#') {
			if (!wildcard_placed_well(sub, sn, si)) return -1;
			return finish_topic(topic, tn, ti, 1);
		}

		/* Topic used up after a '+' level, filter continues "/#": "a/b" matches "a/+/#". */
		if (ti == tn && si > 0 && sub[si - 1] == '+' && s == '/' && byte_at(sub, sn, si + 1) == '#') {
			return 1;
		}
		return finish_filter(sub, sn, si);
	}
	return finish_topic(topic, tn, ti, 0);
}

int wa_filter_valid(const unsigned char *f, size_t n)
{
	if (n == 0) return 0;
	for (size_t i = 0; i < n; i++) {
		int starts = i == 0 || f[i - 1] == '/', ends = i + 1 == n || f[i + 1] == '/';
		if (f[i] == 0) return 0;
		if (f[i] == '+' && !(starts && ends)) return 0;
		if (f[i] == '#' && !(starts && i + 1 == n)) return 0;
	}
	return 1;
}
