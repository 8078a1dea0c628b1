/* wa_pw_verify against hashes made by the real mosquitto_passwd (both formats it writes), and
 * against malformed or hostile hashes; the iteration cap (WA_MAX_PW_ITERATIONS). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "check.h"
#include "../runtime/wa_limits.h"
#include "../runtime/pwhash.h"

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
		"$5$abc$def", /* sha256-crypt: not a mosquitto format */
		"$6$",
		"$6$c2FsdA==",          /* no hash */
		"$6$c2FsdA==$aGFzaA==", /* digest of the wrong length */
		"$6$$"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", /* empty salt */
		"$6$c2Fs*A==$AAAA",   /* not base64 */
		"$7$$c2FsdA==$AAAA",  /* no iteration count */
		"$7$0$c2FsdA==$AAAA", /* zero iterations */
		"$7$-5$c2FsdA==$AAAA",
		"$7$1000001$c2FsdA==$AAAA", /* above the cap, and malformed: malformed */
		"$7$1234567890$c2FsdA==$"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", /* 10 digits */
		"$7$101$c2FsdA==$AAAA$extra",
		"$6$c2FsdA==$AAAA$",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (!CHECK_INT(verify(bad[i], "secret"), -1)) fprintf(stderr, "  hash \"%s\"\n", bad[i]);
	}
	CHECK_INT(wa_pw_verify(NULL, 0, (const uint8_t *)"x", 1), -1);
}

/* A $7$ hash of pw with the given iterations, made with OpenSSL directly (no cap there). */
static void pbkdf2_hash(const char *pw, unsigned iterations, char *out, size_t cap)
{
	const unsigned char salt[12] = "0123456789ab";
	unsigned char dk[64], s64[32], d64[96];

	PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof salt, (int)iterations, EVP_sha512(), 64, dk);
	EVP_EncodeBlock(s64, salt, sizeof salt);
	EVP_EncodeBlock(d64, dk, sizeof dk);
	snprintf(out, cap, "$7$%u$%s$%s", iterations, (const char *)s64, (const char *)d64);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void iteration_cap(void)
{
	char hash[256], made[256];
	struct wa_pw_hash h;
	double t0;

	CHECK_INT(WA_MAX_PW_ITERATIONS, 10000); /* docs/SECURITY.md, "Host function prices" */
	/* At the cap: computed and compared as always. */
	pbkdf2_hash("secret", WA_MAX_PW_ITERATIONS, hash, sizeof hash);
	CHECK_INT(wa_pw_parse(hash, strlen(hash), &h), 0);
	CHECK_INT(h.iterations, WA_MAX_PW_ITERATIONS);
	CHECK_INT(verify(hash, "secret"), 1);
	CHECK_INT(verify(hash, "wrong"), 0);
	/* One above: the right password, a correct digest, and still no match: never computed. */
	pbkdf2_hash("secret", WA_MAX_PW_ITERATIONS + 1, hash, sizeof hash);
	CHECK_INT(wa_pw_parse(hash, strlen(hash), &h), WA_PW_TOO_COSTLY);
	CHECK_INT(h.iterations, WA_MAX_PW_ITERATIONS + 1);
	CHECK_INT(verify(hash, "secret"), 0);
	CHECK_INT(wa_pw_check(&h, (const uint8_t *)"secret", 6), -1); /* refuses to compute it */
	/* The largest count the format holds: refused at once, not after 10^9 iterations. */
	snprintf(hash, sizeof hash, "$7$999999999$MDEyMzQ1Njc4OWFi$%s",
	         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
	t0 = now_ms();
	CHECK_INT(wa_pw_parse(hash, strlen(hash), &h), WA_PW_TOO_COSTLY);
	CHECK_INT(h.iterations, 999999999);
	CHECK_INT(verify(hash, "secret"), 0);
	CHECK(now_ms() - t0 < 50);
	/* What mosquitto_passwd writes with -I above the cap: no match for the right password. */
	if (CHECK(make_hash("-I 10001", "secret", made, sizeof made))) {
		CHECK(strncmp(made, "$7$10001$", 9) == 0);
		CHECK_INT(verify(made, "secret"), 0);
	}
	if (CHECK(make_hash("-I 10000", "secret", made, sizeof made))) CHECK_INT(verify(made, "secret"), 1);
	/* Parsed hashes check like wa_pw_verify: $6$ has no iterations. */
	snprintf(
	    hash, sizeof hash, "%s",
	    "$6$c2FsdA==$oPeb5nMm4U4xiTpjSVruRPjXz2QaN/TSTSakuCiJtR8qzibNgZZ412rWVSMttxWmz05EMhOAaVT07opmzYU/tg==");
	CHECK_INT(wa_pw_parse(hash, strlen(hash), &h), 0);
	CHECK_INT(h.iterations, 0);
	CHECK_INT(h.saltlen, 4);
	CHECK_INT(wa_pw_check(&h, (const uint8_t *)"pw", 2), 1);
	CHECK_INT(wa_pw_check(&h, (const uint8_t *)"pW", 2), 0);
	CHECK_INT(wa_pw_parse("$6$c2FsdA==$AAAA", 16, &h), WA_PW_MALFORMED);
}

int main(void)
{
	real_entries("", "$7$"); /* mosquitto_passwd's default: PBKDF2-SHA512 */
	real_entries("-H sha512-pbkdf2", "$7$");
	real_entries("-H sha512", "$6$");
	binary_password();
	malformed();
	iteration_cap();
	return check_done();
}
