/* wa_pw_verify against hashes made by the real mosquitto_passwd (both formats it writes), and
 * against malformed or hostile hashes. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "../limits.h"
#include "../pwhash.h"

/* Runs mosquitto_passwd into a temp file and returns the hash part of the "user:hash" line. */
static int make_hash(const char *flags, const char *password, char *hash, size_t cap)
{
	char dir[] = "/tmp/wa-pwhash-XXXXXX", cmd[512], path[256], line[512];
	FILE *f;
	int ok = 0;

	if (!mkdtemp(dir)) return 0;
	snprintf(path, sizeof path, "%s/passwd", dir);
	snprintf(cmd, sizeof cmd, "mosquitto_passwd %s -b -c '%s' user '%s' >/dev/null 2>&1", flags, path, password);
	if (system(cmd) == 0 && (f = fopen(path, "r"))) {
		if (fgets(line, sizeof line, f) && strncmp(line, "user:", 5) == 0) {
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(hash, cap, "%s", line + 5);
			ok = 1;
		}
		fclose(f);
	}
	unlink(path);
	rmdir(dir);
	return ok;
}

static int verify(const char *hash, const char *pw)
{
	return wa_pw_verify(hash, strlen(hash), (const uint8_t *)pw, strlen(pw));
}

static void real_entries(const char *flags, const char *prefix)
{
	const char *passwords[] = { "secret", "", "pässwörd with spaces", "x" };
	char hash[256];

	for (size_t i = 0; i < sizeof passwords / sizeof passwords[0]; i++) {
		/* mosquitto_passwd refuses empty passwords in batch mode: skip only that one. */
		if (!passwords[i][0]) continue;
		if (!CHECK(make_hash(flags, passwords[i], hash, sizeof hash))) {
			fprintf(stderr, "  mosquitto_passwd %s failed (is it installed?)\n", flags);
			return;
		}
		CHECK(strncmp(hash, prefix, strlen(prefix)) == 0);
		CHECK_INT(verify(hash, passwords[i]), 1);
		CHECK_INT(verify(hash, "wrong"), 0);
		CHECK_INT(verify(hash, ""), 0);
		/* One flipped character inside the stored digest: no match, still well-formed. */
		size_t mid = strlen(hash) - 10;
		hash[mid] = hash[mid] == 'A' ? 'B' : 'A';
		CHECK_INT(verify(hash, passwords[i]), 0);
	}
}

static void binary_password(void)
{
	/* Hashes are over bytes: a password with a NUL inside is not the same as its prefix. */
	const uint8_t pw[] = { 'a', 0, 'b' };
	char hash[256];

	if (!CHECK(make_hash("", "a", hash, sizeof hash))) return;
	CHECK_INT(wa_pw_verify(hash, strlen(hash), pw, 1), 1);
	CHECK_INT(wa_pw_verify(hash, strlen(hash), pw, 3), 0);
	/* The length given is what counts, not a terminating NUL: a shortened digest is malformed. */
	CHECK_INT(wa_pw_verify(hash, strlen(hash) - 4, pw, 1), -1);
}

static void malformed(void)
{
	const char *bad[] = {
		"",
		"secret",
		"$5$abc$def",                           /* sha256-crypt: not a mosquitto format */
		"$6$",
		"$6$c2FsdA==",                           /* no hash */
		"$6$c2FsdA==$aGFzaA==",                  /* digest of the wrong length */
		"$6$$" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", /* empty salt */
		"$6$c2Fs*A==$AAAA",                      /* not base64 */
		"$7$$c2FsdA==$AAAA",                     /* no iteration count */
		"$7$0$c2FsdA==$AAAA",                    /* zero iterations */
		"$7$-5$c2FsdA==$AAAA",
		"$7$1000001$c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
		"$7$101$c2FsdA==$AAAA$extra",
		"$6$c2FsdA==$AAAA$",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (!CHECK_INT(verify(bad[i], "secret"), -1)) fprintf(stderr, "  hash \"%s\"\n", bad[i]);
	}
	CHECK_INT(wa_pw_verify(NULL, 0, (const uint8_t *)"x", 1), -1);
}

int main(void)
{
	real_entries("", "$7$");           /* mosquitto_passwd's default: PBKDF2-SHA512 */
	real_entries("-H sha512-pbkdf2", "$7$");
	real_entries("-H sha512", "$6$");
	binary_password();
	malformed();
	return check_done();
}
