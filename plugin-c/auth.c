#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "gate/gate.h"
#include "log.h"

struct wa_auth {
	struct wa_options *opts;
	struct wa_config cfg;
	const struct wa_client_ops *client_ops;
	struct wa_policy *policy;
	uint8_t *bytes; /* the file as last loaded, to tell whether a reload changed it */
	size_t len;
};

#define ERRLEN 1024

/* Reads the whole module file, refusing it early (before allocating) when it is above the cap. */
static int read_module(const char *path, uint32_t max, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(err, errlen, "the module is %lld bytes, above the cap of %u (wasm_max_module_bytes)",
		         (long long)st.st_size, max);
		close(fd);
		return -1;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1u);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) {
			snprintf(err, errlen, "read: %s", r < 0 ? strerror(errno) : "file shrank while reading");
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	*out = buf;
	*outlen = got;
	return 0;
}

/* A ready policy from bytes: gate, instance, plugin_init, security_init(reload). */
static struct wa_policy *load(struct wa_auth *a, const uint8_t *bytes, size_t len, int reload,
                              char *err, size_t errlen)
{
	struct wa_policy *p = wa_policy_new(bytes, len, &a->cfg, a->opts, a->client_ops, err, errlen);

	if (!p) return NULL;
	if (wa_policy_plugin_init(p, err, errlen) != 0) {
		wa_policy_free(p);
		return NULL;
	}
	if (wa_policy_security_init(p, reload, err, errlen) != 0) {
		wa_policy_plugin_cleanup(p);
		wa_policy_free(p);
		return NULL;
	}
	return p;
}

struct wa_auth *wa_auth_new(const struct wa_kv *opts, unsigned n, const struct wa_client_ops *client_ops)
{
	char err[ERRLEN];
	struct wa_auth *a = calloc(1, sizeof *a);

	if (!a) {
		wa_log(WA_LOG_ERR, "cannot load policy: out of memory");
		return NULL;
	}
	a->client_ops = client_ops;
	a->opts = wa_options_new(opts, n, err, sizeof err);
	if (!a->opts || wa_config_parse(a->opts, &a->cfg, err, sizeof err) != 0) {
		wa_log(WA_LOG_ERR, "cannot load policy: %s", err);
		goto fail;
	}
	if (read_module(a->cfg.module_path, a->cfg.max_module_bytes, &a->bytes, &a->len, err, sizeof err) != 0 ||
	    !(a->policy = load(a, a->bytes, a->len, 0, err, sizeof err))) {
		wa_log(WA_LOG_ERR, WA_GATE_REFUSED_FMT, a->cfg.module_path, err);
		goto fail;
	}
	return a;
fail:
	free(a->bytes);
	wa_options_free(a->opts);
	free(a);
	return NULL;
}

void wa_auth_free(struct wa_auth *a)
{
	if (!a) return;
	if (a->policy) {
		wa_policy_security_cleanup(a->policy, 0);
		wa_policy_plugin_cleanup(a->policy);
		wa_policy_free(a->policy);
	}
	free(a->bytes);
	wa_options_free(a->opts);
	free(a);
}

struct wa_policy *wa_auth_policy(const struct wa_auth *a)
{
	return a->policy;
}

const struct wa_config *wa_auth_config(const struct wa_auth *a)
{
	return &a->cfg;
}

int wa_auth_reload(struct wa_auth *a)
{
	char err[ERRLEN];
	uint8_t *bytes = NULL;
	size_t len = 0;
	struct wa_policy *next;

	wa_policy_security_cleanup(a->policy, 1);
	if (read_module(a->cfg.module_path, a->cfg.max_module_bytes, &bytes, &len, err, sizeof err) != 0) {
		goto keep;
	}
	if (len == a->len && memcmp(bytes, a->bytes, len) == 0) {
		free(bytes);
		if (wa_policy_security_init(a->policy, 1, err, sizeof err) != 0) {
			wa_log(WA_LOG_ERR, "reload of %s: %s", a->cfg.module_path, err);
			return -1;
		}
		return 0;
	}
	next = load(a, bytes, len, 1, err, sizeof err);
	if (!next) goto keep;
	wa_policy_plugin_cleanup(a->policy);
	wa_policy_free(a->policy);
	free(a->bytes);
	a->policy = next;
	a->bytes = bytes;
	a->len = len;
	wa_log(WA_LOG_NOTICE, "reloaded policy %s", a->cfg.module_path);
	return 0;
keep:
	free(bytes);
	wa_log(WA_LOG_ERR, "reload of %s failed, keeping the previous policy: %s", a->cfg.module_path, err);
	/* The previous policy already got security_cleanup(1): give it its security_init(1) back. A
	 * refusal cannot be acted on any more (there is nothing else to keep); it is logged. */
	if (wa_policy_security_init(a->policy, 1, err, sizeof err) != 0) {
		wa_log(WA_LOG_ERR, "reload of %s: previous policy: %s", a->cfg.module_path, err);
	}
	return -1;
}
