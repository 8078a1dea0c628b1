/* wa_pw_verify against hashes made by the real mosquitto_passwd (both formats it writes) and by
 * the argon2 tool (tests/fixtures/argon2id.txt), and against malformed or hostile hashes; the
 * cost caps (WA_MAX_PW_ITERATIONS, WA_MAX_PW_ARGON2_KIB, WA_MAX_PW_ARGON2_LANES). */
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

/* The named line of tests/fixtures/argon2id.txt: password and hash. Tests run from the repo root. */
static int argon2_fixture(const char *name, char *pw, size_t pwcap, char *hash, size_t hashcap)
{
	FILE *f = fopen("tests/fixtures/argon2id.txt", "r");
	char line[512];
	int found = 0;

	if (!f) return 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
		if (line[0] == '#' || !tab2) continue;
		*tab1 = *tab2 = '\0';
		line[strcspn(tab2 + 1, "\r\n") + (size_t)(tab2 + 1 - line)] = '\0';
		if (strcmp(line, name) != 0) continue;
		snprintf(pw, pwcap, "%s", tab1 + 1);
		snprintf(hash, hashcap, "%s", tab2 + 1);
		found = 1;
	}
	fclose(f);
	if (!found) fprintf(stderr, "  no fixture \"%s\" in tests/fixtures/argon2id.txt\n", name);
	return found;
}

static void argon2_known_answers(void)
{
	const char *names[] = { "default", "lanes", "minimal", "at-cap" };
	char pw[128], hash[256];
	struct wa_pw_hash h;
	double t0, t;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!CHECK(argon2_fixture(names[i], pw, sizeof pw, hash, sizeof hash))) continue;
		CHECK_INT(verify(hash, pw), 1);
		CHECK_INT(verify(hash, "wrong"), 0);
		CHECK_INT(verify(hash, ""), 0);
		size_t mid = strlen(hash) - 3;
		hash[mid] = hash[mid] == 'A' ? 'B' : 'A';
		CHECK_INT(verify(hash, pw), 0);
	}
	/* mosquitto_passwd 2.1's parameters; the time is reported, never a pass/fail condition. */
	if (argon2_fixture("default", pw, sizeof pw, hash, sizeof hash)) {
		CHECK_INT(wa_pw_parse(hash, strlen(hash), &h), 0);
		CHECK_INT(h.argon2_kib, 47104);
		CHECK_INT(h.argon2_passes, 1);
		CHECK_INT(h.argon2_lanes, 1);
		CHECK_INT(h.iterations, 0);
		CHECK_INT(h.digestlen, 64);
		t0 = now_ms();
		CHECK_INT(wa_pw_check(&h, (const uint8_t *)pw, strlen(pw)), 1);
		t = now_ms() - t0;
		fprintf(stderr, "  argon2id m=47104,t=1,p=1: %.1f ms (one thread)\n", t);
	}
}

static void argon2_caps(void)
{
	const char *over[] = { "over-memory", "over-passes", "over-lanes" };
	char pw[128], hash[256];
	struct wa_pw_hash h;
	double t0;

	CHECK_INT(WA_MAX_PW_ARGON2_KIB, 49152); /* docs/SECURITY.md */
	CHECK_INT(WA_MAX_PW_ARGON2_LANES, 8);
	/* The right password's real hash, one step above a cap: never computed, no match. */
	for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
		if (!CHECK(argon2_fixture(over[i], pw, sizeof pw, hash, sizeof hash))) continue;
		if (!CHECK_INT(wa_pw_parse(hash, strlen(hash), &h), WA_PW_TOO_COSTLY))
			fprintf(stderr, "  %s\n", over[i]);
		CHECK_INT(verify(hash, pw), 0);
		CHECK_INT(wa_pw_check(&h, (const uint8_t *)pw, strlen(pw)), -1);
	}
	/* The largest values the format holds: refused at once, nothing allocated. */
	snprintf(hash, sizeof hash, "%s",
	         "$argon2id$v=19$m=999999999,t=999999999,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA");
	t0 = now_ms();
	CHECK_INT(wa_pw_parse(hash, strlen(hash), &h), WA_PW_TOO_COSTLY);
	CHECK_INT(h.argon2_kib, 999999999);
	CHECK_INT(h.argon2_passes, 999999999);
	CHECK_INT(verify(hash, "secret"), 0);
	CHECK(now_ms() - t0 < 50);
	snprintf(hash, sizeof hash, "%s",
	         "$argon2id$v=19$m=999999999,t=1,p=16777215$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA");
	CHECK_INT(wa_pw_parse(hash, strlen(hash), &h), WA_PW_TOO_COSTLY);
	CHECK_INT(h.argon2_lanes, 16777215);
}

static void argon2_malformed(void)
{
	const char *bad[] = {
		"$argon2id$",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",                     /* no hash */
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAA$",           /* a field too many */
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",          /* argon2i: not what mosquitto writes */
		"$argon2d$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",          /* argon2d */
		"$ARGON2ID$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",         /* case matters */
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",         /* version 1.0 */
		"$argon2id$v=190$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",        /* wrong version */
		"$argon2id$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",              /* no version */
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$AAAAAAAAAAA",             /* no p */
		"$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",         /* order */
		"$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$AAAAAAAAAAA",     /* extra parameter */
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",         /* zero passes */
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$AAAAAAAAAAA",         /* zero lanes */
		"$argon2id$v=19$m=7,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",          /* m < 8 p */
		"$argon2id$v=19$m=64,t=1,p=9$c2FsdHNhbHQ$AAAAAAAAAAA",         /* m < 8 p, p above the cap */
		"$argon2id$v=19$m=64,t=-1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",        /* sign */
		"$argon2id$v=19$m=64,t=1,p=16777216$c2FsdHNhbHQ$AAAAAAAAAAA",  /* above Argon2's lanes */
		"$argon2id$v=19$m=1234567890,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA", /* 10 digits */
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$AAAAAAAAAAA",              /* salt of 4 bytes (8 at least) */
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAA",                 /* output of 2 bytes (4 at least) */
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"A",                                                   /* 66 bytes */
		"$argon2id$v=19$m=64,t=1,p=1$c2Fsd*NhbHQ$AAAAAAAAAAA", /* not base64 */
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAB", /* leftover bits */
		"$argon2id$v=19$m= 64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",
		"$argon2id$v=19$$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",
	};
	char huge[1200];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (!CHECK_INT(verify(bad[i], "secret"), -1)) fprintf(stderr, "  hash \"%s\"\n", bad[i]);
	}
	/* A salt longer than WA_MAX_PW_SALT_BYTES. */
	snprintf(huge, sizeof huge, "$argon2id$v=19$m=64,t=1,p=1$%0*d$AAAAAAAAAAA", 400, 0);
	for (char *c = huge + 28; *c == '0'; c++) *c = 'A';
	CHECK_INT(verify(huge, "secret"), -1);
	/* A NUL inside the parameters, where the guest's bytes are not a C string. */
	{
		static const char nul[] = "$argon2id$v=19$m=64,t=1,p=1\0$c2FsdHNhbHQ$AAAAAAAAAAA";
		CHECK_INT(wa_pw_verify(nul, sizeof nul - 1, (const uint8_t *)"x", 1), -1);
		CHECK_INT(wa_pw_verify(nul, 27, (const uint8_t *)"x", 1), -1); /* cut before the NUL: no salt */
	}
}

int main(void)
{
	real_entries("", "$7$"); /* mosquitto_passwd's default: PBKDF2-SHA512 */
	real_entries("-H sha512-pbkdf2", "$7$");
	real_entries("-H sha512", "$6$");
	binary_password();
	malformed();
	iteration_cap();
	argon2_known_answers();
	argon2_caps();
	argon2_malformed();
	return check_done();
}
