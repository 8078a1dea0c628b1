/* Writes policy P's data (docs/BENCHMARKS.md) into a directory:
 *   passwd          mosquitto_passwd format, "user:$7$101$<b64 salt 12>$<b64 pbkdf2-sha512 64>"
 *                   for user0000..user0999 and bench. mosquitto_passwd -b takes minutes for
 *                   1001 users; this makes the same lines with OpenSSL directly.
 *   passwords.txt   "user password" in clear, for the load generator and the in-process harness
 *   acl             mosquitto acl_file: pattern readwrite users/%u/#, pattern read public/#
 *   dynsec.json     dynamic-security config equivalent to P: a role per user for its own subtree
 *                   plus a shared "public" role; default access all denied.
 * Password of userNNNN is "pw-userNNNN"; of bench, "pw-bench".
 * Usage: gen_data OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define GD_USERS      1000
#define GD_ITERATIONS 101 /* mosquitto_passwd's default for $7$ */
#define GD_SALT_LEN   12
#define GD_HASH_LEN   64

static int gd_hash_line(FILE *pw, FILE *clear, FILE *ds, const char *user, int first)
{
	char password[64];
	unsigned char salt[GD_SALT_LEN], hash[GD_HASH_LEN];
	unsigned char salt64[32], hash64[128];
	snprintf(password, sizeof password, "pw-%s", user);
	if (RAND_bytes(salt, sizeof salt) != 1) return -1;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof salt, GD_ITERATIONS, EVP_sha512(),
	                      sizeof hash, hash) != 1) {
		return -1;
	}
	EVP_EncodeBlock(salt64, salt, sizeof salt);
	EVP_EncodeBlock(hash64, hash, sizeof hash);
	fprintf(pw, "%s:$7$%d$%s$%s\n", user, GD_ITERATIONS, salt64, hash64);
	fprintf(clear, "%s %s\n", user, password);
	/* dynsec stores the same PBKDF2-SHA512 hash with salt and iterations as separate fields. */
	fprintf(ds,
	        "%s\n    {\"username\": \"%s\", \"password\": \"%s\", \"salt\": \"%s\", "
	        "\"iterations\": %d, \"roles\": [{\"rolename\": \"own-%s\"}, {\"rolename\": \"public\"}]}",
	        first ? "" : ",", user, hash64, salt64, GD_ITERATIONS, user);
	return 0;
}

/* Index GD_USERS is the load's own user, "bench". */
static void gd_user_name(char *buf, size_t cap, int i)
{
	if (i == GD_USERS)
		snprintf(buf, cap, "bench");
	else
		snprintf(buf, cap, "user%04d", i);
}

static FILE *gd_open(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL) perror(path);
	return f;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_data OUTDIR\n");
		return 2;
	}
	FILE *pw = gd_open(argv[1], "passwd");
	FILE *clear = gd_open(argv[1], "passwords.txt");
	FILE *ds = gd_open(argv[1], "dynsec.json");
	FILE *acl = gd_open(argv[1], "acl");
	if (!pw || !clear || !ds || !acl) return 1;

	fprintf(acl, "# Policy P: own subtree read/write, public read; everything else denied.\n"
	             "pattern readwrite users/%%u/#\n"
	             "pattern read public/#\n");

	fprintf(ds, "{\n  \"defaultACLAccess\": {\"publishClientSend\": false, "
	            "\"publishClientReceive\": false, \"subscribe\": false, \"unsubscribe\": false},\n"
	            "  \"groups\": [],\n  \"roles\": [\n"
	            "    {\"rolename\": \"public\", \"acls\": [\n"
	            "      {\"acltype\": \"publishClientReceive\", \"topic\": \"public/#\", \"allow\": true},\n"
	            "      {\"acltype\": \"subscribePattern\", \"topic\": \"public/#\", \"allow\": true},\n"
	            "      {\"acltype\": \"unsubscribePattern\", \"topic\": \"public/#\", \"allow\": true}]}");
	/* 2.0.11's dynsec does not substitute %u in ACL topics (checked: a literal "users/%u/#"
	 * subscription is granted, "users/bench/#" is not), so each user gets its own role. */
	char user[32];
	for (int i = 0; i <= GD_USERS; i++) {
		gd_user_name(user, sizeof user, i);
		fprintf(ds,
		        ",\n    {\"rolename\": \"own-%s\", \"acls\": [\n"
		        "      {\"acltype\": \"publishClientSend\", \"topic\": \"users/%s/#\", \"allow\": true},\n"
		        "      {\"acltype\": \"publishClientReceive\", \"topic\": \"users/%s/#\", \"allow\": true},\n"
		        "      {\"acltype\": \"subscribePattern\", \"topic\": \"users/%s/#\", \"allow\": true},\n"
		        "      {\"acltype\": \"unsubscribePattern\", \"topic\": \"users/%s/#\", \"allow\": true}]}",
		        user, user, user, user, user);
	}
	fprintf(ds, "\n  ],\n  \"clients\": [");
	int rc = 0;
	for (int i = 0; i <= GD_USERS && rc == 0; i++) {
		gd_user_name(user, sizeof user, i);
		rc = gd_hash_line(pw, clear, ds, user, i == 0);
	}
	fprintf(ds, "\n  ]\n}\n");
	if (rc != 0) fprintf(stderr, "gen_data: OpenSSL failed\n");
	if (fclose(pw) || fclose(clear) || fclose(ds) || fclose(acl)) {
		perror("gen_data: write");
		return 1;
	}
	return rc == 0 ? 0 : 1;
}
