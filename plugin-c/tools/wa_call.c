/* wa-call: runs one hook of a policy through the C runtime, exactly as the plugin would (same
 * loading, options, budgets, failure decision), without a broker. Prints one line: allow, deny,
 * defer, or for psk_key_get the hex key or none. Errors go to stderr with exit status 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/auth.h"
#include "../runtime/wa_limits.h"
#include "../runtime/log.h"
#include "../runtime/text.h"

#define NULL_TOKEN     "@null"
#define EMPTY_TOKEN    "@empty"
#define MAX_BATCH_LINE 70000

static const char usage[] =
    "usage: wa-call POLICY.wasm [--opt KEY=VALUE]... [--client-id ID] [--address ADDR] [--protocol N]\n"
    "               HOOK ARGS...\n"
    "  unpwd_check USERNAME PASSWORD\n"
    "  acl_check CLIENTID USERNAME TOPIC ACCESS [PAYLOAD [QOS [RETAIN]]]\n"
    "  psk_key_get IDENTITY HINT\n"
    "  on_tick | on_disconnect CLIENTID USERNAME | session_check CLIENTID USERNAME | actions\n"
    "  on_message | on_message_out CLIENTID USERNAME TOPIC PAYLOAD [QOS [RETAIN]]\n"
    "  on_subscribe CLIENTID USERNAME FILTER [QOS]\n"
    "  ext_auth_start | ext_auth_continue CLIENTID METHOD DATA\n"
    "ACCESS: none|read|write|subscribe|unsubscribe or its number (0, 1, 2, 4, 8).\n"
    "Any string argument may be " NULL_TOKEN " for an absent value (no username, no password, ...).\n"
    "       wa-call POLICY.wasm [options] --batch\n"
    "  reads one request per line from stdin (HOOK ARGS... separated by spaces, " EMPTY_TOKEN " for an\n"
    "  empty string, or the word reload) and prints one answer line each (reload: ok or failed),\n"
    "  all against the same loaded policy, so state and recovery across requests can be tested.\n"
    "The client behind the request: --client-id (default: acl_check's CLIENTID), --address\n"
    "(default: unknown), --protocol 3|4|5 (default: 0, unknown).\n"
    "Prints allow, deny or defer (and the policy's reason, when it gave one, as \"reason: TEXT\" on\n"
    "stderr); psk_key_get prints the key (hex) or none; on_tick, on_disconnect and\n"
    "actions print the deferred actions queued so far, then forget them: kick_client:ID, kick_user:NAME,\n"
    "publish:TOPIC:QOS:RETAIN:PAYLOAD (bytes outside ! to ~ as .), separated by spaces, or none.\n"
    "on_message and on_message_out print drop, or deliver followed by what it rewrote: topic:T payload:P\n"
    "retain:R. on_subscribe prints deny, or allow followed by what it rewrote: topic:F qos:Q.\n"
    "ext_auth_* print allow, deny, defer or continue, then the AUTH data out if any (bytes outside ! to ~ as .).\n";

struct client {
	const char *id;
	const char *address;
	int protocol;
};

static const char *client_id(const void *c)
{
	return ((const struct client *)c)->id;
}

static const char *client_address(const void *c)
{
	return ((const struct client *)c)->address;
}

static int client_protocol_version(const void *c)
{
	return ((const struct client *)c)->protocol;
}

static const struct wa_client_ops client_ops = { client_id, client_address, client_protocol_version, 1 };

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "wa-call: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 2;
}

static const char *value(const char *arg)
{
	if (strcmp(arg, NULL_TOKEN) == 0) return NULL;
	return strcmp(arg, EMPTY_TOKEN) == 0 ? "" : arg;
}

static int parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < min || v > max) return -1;
	*out = v;
	return 0;
}

static int parse_access(const char *s, long *out)
{
	static const struct {
		const char *name;
		long value;
	} names[] = {
		{ "none", 0 }, { "read", 1 }, { "write", 2 }, { "subscribe", 4 }, { "unsubscribe", 8 },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].value;
			return 0;
		}
	}
	return parse_int(s, 0, 255, out);
}

static const char *decision_word(enum wa_decision d)
{
	return d == WA_ALLOW ? "allow" : d == WA_DEFER ? "defer" : "deny";
}

static int has_hook(struct wa_auth *a, enum wa_hook h)
{
	return (wa_policy_hooks(wa_auth_policy(a)) & (1u << h)) != 0;
}

static void print_bytes(const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) putchar(b[i] > 0x20 && b[i] < 0x7f ? b[i] : '.');
}

static void print_action(const struct wa_action *a, void *ud)
{
	int *first = ud;

	printf("%s", *first ? "" : " ");
	*first = 0;
	switch (a->kind) {
		case WA_ACTION_KICK_CLIENT: printf("kick_client:%s", a->target); break;
		case WA_ACTION_KICK_USER: printf("kick_user:%s", a->target); break;
		case WA_ACTION_PUBLISH:
			printf("publish:%s:%d:%d:", a->target, a->qos, a->retain);
			print_bytes(a->payload, a->payloadlen);
			break;
	}
}

/* The queued actions on one line (taken: the plugin would carry them out now). */
static void print_actions(struct wa_policy *p)
{
	int first = 1;

	if (!wa_policy_actions_pending(p)) {
		printf("none\n");
		return;
	}
	wa_policy_take_actions(p, print_action, &first);
	printf("\n");
}

/* on_message's outcome on one line: drop, or deliver and each staged change. */
static void print_message(struct wa_policy *p, enum wa_decision d)
{
	const struct wa_message_rewrite *r = wa_policy_message_rewrite(p);

	if (d != WA_ALLOW) {
		printf("drop\n");
		return;
	}
	printf("deliver");
	if (r->topic) printf(" topic:%s", r->topic);
	if (r->has_payload) {
		printf(" payload:");
		print_bytes(r->payload, r->payloadlen);
	}
	if (r->retain >= 0) printf(" retain:%d", r->retain);
	printf("\n");
	wa_policy_message_done(p);
}

/* on_subscribe's outcome on one line: deny, or allow and each staged change. */
static void print_subscribe(struct wa_policy *p, enum wa_decision d)
{
	const struct wa_subscribe_rewrite *r = wa_policy_subscribe_rewrite(p);

	if (d != WA_ALLOW) {
		printf("deny\n");
		return;
	}
	printf("allow");
	if (r->topic) printf(" topic:%s", r->topic);
	if (r->qos >= 0) printf(" qos:%d", r->qos);
	printf("\n");
	wa_policy_subscribe_done(p);
}

/* The answer line, then the policy's reason (set_reason) on stderr: stdout stays one word. */
static void print_decision(struct wa_policy *p, enum wa_decision d)
{
	struct wa_policy_outcome o;
	char reason[WA_MAX_REASON_BYTES + 1];

	printf("%s\n", decision_word(d));
	fflush(stdout);
	wa_policy_audit_outcome(p, 0, &o);
	if (!o.reason_len) return;
	memcpy(reason, o.reason, o.reason_len);
	reason[o.reason_len] = '\0';
	wa_text_sanitize_controls(reason, o.reason_len);
	fprintf(stderr, "reason: %s\n", reason);
}

/* Runs the hook; 0 with the answer printed, or 2. */
static int run(struct wa_auth *a, struct client *c, const char *hook, int argc, char **argv)
{
	struct wa_policy *p = wa_auth_policy(a);
	char key[WA_MAX_PSK_KEY_CHARS + 1];
	enum wa_decision d;
	long access, qos = 0, retain = 0;

	if (strcmp(hook, "unpwd_check") == 0) {
		if (argc != 2) return die("unpwd_check takes USERNAME PASSWORD", "");
		if (!has_hook(a, WA_HOOK_UNPWD_CHECK)) goto not_exported;
		wa_policy_audit_mark(p);
		d = wa_policy_unpwd_check(p, c, value(argv[0]), value(argv[1]));
		print_decision(p, d);
		return 0;
	}
	if (strcmp(hook, "acl_check") == 0) {
		const char *payload = NULL;
		if (argc < 4 || argc > 7)
			return die("acl_check takes CLIENTID USERNAME TOPIC ACCESS [PAYLOAD [QOS [RETAIN]]]", "");
		if (parse_access(argv[3], &access)) return die("bad ACCESS: %s", argv[3]);
		if (argc > 4) payload = value(argv[4]);
		if (argc > 5 && parse_int(argv[5], 0, 2, &qos)) return die("bad QOS: %s", argv[5]);
		if (argc > 6 && parse_int(argv[6], 0, 1, &retain)) return die("bad RETAIN: %s", argv[6]);
		if (!has_hook(a, WA_HOOK_ACL_CHECK)) goto not_exported;
		if (!c->id) c->id = value(argv[0]);
		wa_policy_audit_mark(p);
		d = wa_policy_acl_check(p, c, value(argv[0]), value(argv[1]), value(argv[2]), (int)access, payload,
		                        payload ? (uint32_t)strlen(payload) : 0u, (int)qos, (int)retain);
		print_decision(p, d);
		return 0;
	}
	if (strcmp(hook, "psk_key_get") == 0) {
		if (argc != 2) return die("psk_key_get takes IDENTITY HINT", "");
		if (!has_hook(a, WA_HOOK_PSK_KEY_GET)) goto not_exported;
		d = wa_policy_psk_key_get(p, c, value(argv[0]), value(argv[1]), key, sizeof key);
		printf("%s\n", d == WA_ALLOW ? key : d == WA_DEFER ? "defer" : "none");
		return 0;
	}
	if (strcmp(hook, "on_tick") == 0) {
		if (argc != 0) return die("on_tick takes no arguments%s", "");
		if (!has_hook(a, WA_HOOK_ON_TICK)) goto not_exported;
		wa_policy_tick(p);
		print_actions(p);
		return 0;
	}
	if (strcmp(hook, "on_disconnect") == 0) {
		if (argc != 2) return die("on_disconnect takes CLIENTID USERNAME", "");
		if (!has_hook(a, WA_HOOK_ON_DISCONNECT)) goto not_exported;
		if (!c->id) c->id = value(argv[0]);
		wa_policy_disconnect(p, c, value(argv[0]), value(argv[1]));
		print_actions(p);
		return 0;
	}
	if (strcmp(hook, "session_check") == 0) {
		if (argc != 2) return die("session_check takes CLIENTID USERNAME", "");
		if (!has_hook(a, WA_HOOK_SESSION_CHECK)) goto not_exported;
		printf("%s\n", decision_word(wa_policy_session_check(p, value(argv[0]), value(argv[1]))));
		return 0;
	}
	if (strcmp(hook, "on_message") == 0 || strcmp(hook, "on_message_out") == 0) {
		int out = hook[10] == '_';
		if (argc < 4 || argc > 6) return die("%s takes CLIENTID USERNAME TOPIC PAYLOAD [QOS [RETAIN]]", hook);
		if (argc > 4 && parse_int(argv[4], 0, 2, &qos)) return die("bad QOS: %s", argv[4]);
		if (argc > 5 && parse_int(argv[5], 0, 1, &retain)) return die("bad RETAIN: %s", argv[5]);
		if (!has_hook(a, out ? WA_HOOK_ON_MESSAGE_OUT : WA_HOOK_ON_MESSAGE)) goto not_exported;
		if (!c->id) c->id = value(argv[0]);
		{
			const char *payload = value(argv[3]);
			uint32_t len = payload ? (uint32_t)strlen(payload) : 0u;
			d = out ? wa_policy_message_out(p, c, value(argv[0]), value(argv[1]), value(argv[2]), payload,
			                                len, (int)qos, (int)retain)
			        : wa_policy_message(p, c, value(argv[0]), value(argv[1]), value(argv[2]), payload, len,
			                            (int)qos, (int)retain);
		}
		print_message(p, d);
		return 0;
	}
	if (strcmp(hook, "on_subscribe") == 0) {
		if (argc < 3 || argc > 4) return die("on_subscribe takes CLIENTID USERNAME FILTER [QOS]", "");
		if (argc > 3 && parse_int(argv[3], 0, 2, &qos)) return die("bad QOS: %s", argv[3]);
		if (!has_hook(a, WA_HOOK_ON_SUBSCRIBE)) goto not_exported;
		if (!c->id) c->id = value(argv[0]);
		d = wa_policy_subscribe(p, c, value(argv[0]), value(argv[1]), value(argv[2]), (int)qos);
		print_subscribe(p, d);
		return 0;
	}
	if (strcmp(hook, "ext_auth_start") == 0 || strcmp(hook, "ext_auth_continue") == 0) {
		int start = hook[9] == 's';
		const uint8_t *out;
		uint32_t outlen;
		int r;
		if (argc != 3) return die("%s takes CLIENTID METHOD DATA", hook);
		if (!has_hook(a, start ? WA_HOOK_EXT_AUTH_START : WA_HOOK_EXT_AUTH_CONTINUE)) goto not_exported;
		if (!c->id) c->id = value(argv[0]);
		r = wa_policy_ext_auth(p, c, start, value(argv[0]), value(argv[1]), value(argv[2]),
		                       value(argv[2]) ? (uint32_t)strlen(argv[2]) : 0u, &out, &outlen);
		fputs(r == WA_CONTINUE ? "continue" : decision_word((enum wa_decision)r), stdout);
		if (outlen) putchar(' ');
		for (uint32_t i = 0; i < outlen; i++) putchar(out[i] >= '!' && out[i] <= '~' ? out[i] : '.');
		putchar('\n');
		return 0;
	}
	if (strcmp(hook, "actions") == 0) {
		if (argc != 0) return die("actions takes no arguments%s", "");
		print_actions(p);
		return 0;
	}
	return die("unknown hook %s (unpwd_check, acl_check, psk_key_get, on_tick, on_disconnect, session_check, "
	           "on_message, ext_auth_start, ext_auth_continue, on_message_out, on_subscribe, actions)",
	           hook);
not_exported:
	return die("the policy does not export %s (the plugin would not register for it)", hook);
}

/* --batch: one request per stdin line. A bad line answers "error" (details on stderr) and the
 * batch goes on; the exit status is 2 if any line was bad. */
static int batch(struct wa_auth *a, const struct client *defaults)
{
	static char line[MAX_BATCH_LINE];
	char *tok[16];
	int rc = 0;

	while (fgets(line, sizeof line, stdin)) {
		struct client c = *defaults;
		int n = 0;
		for (char *t = strtok(line, " \t\r\n"); t && n < 16; t = strtok(NULL, " \t\r\n")) tok[n++] = t;
		if (n == 0) continue;
		if (strcmp(tok[0], "reload") == 0 && n == 1) {
			printf("%s\n", wa_auth_reload(a) == 0 ? "ok" : "failed");
		} else if (run(a, &c, tok[0], n - 1, tok + 1) != 0) {
			printf("error\n");
			rc = 2;
		}
		fflush(stdout);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct wa_kv kv[WA_MAX_OPTIONS];
	unsigned n = 0;
	struct client c = { NULL, NULL, 0 };
	struct wa_auth *a;
	long protocol;
	int i, rc;

	if (argc < 3 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, argc < 3 ? stderr : stdout);
		return argc < 3 ? 2 : 0;
	}
	kv[n].key = "wasm_module";
	kv[n++].value = argv[1];
	for (i = 2; i < argc && strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i], "--batch") != 0; i += 2) {
		const char *opt = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;
		if (!arg) return die("%s needs a value", opt);
		if (strcmp(opt, "--opt") == 0) {
			char *eq = strchr(arg, '=');
			if (!eq || eq == arg) return die("--opt takes KEY=VALUE, not %s", arg);
			if (n == WA_MAX_OPTIONS) return die("too many options%s", "");
			*eq = '\0';
			kv[n].key = arg;
			kv[n++].value = eq + 1;
		} else if (strcmp(opt, "--client-id") == 0) {
			c.id = value(arg);
		} else if (strcmp(opt, "--address") == 0) {
			c.address = value(arg);
		} else if (strcmp(opt, "--protocol") == 0) {
			if (parse_int(arg, 0, 5, &protocol)) return die("bad --protocol: %s", arg);
			c.protocol = (int)protocol;
		} else {
			return die("unknown option %s", opt);
		}
	}
	if (i >= argc) return die("no HOOK given%s", "");
	if (strcmp(argv[i], "--batch") == 0 && i + 1 != argc) return die("--batch takes no HOOK%s", "");

	a = wa_auth_new(kv, n, &client_ops); /* logs its own one-line reason */
	if (!a) return 2;
	if (strcmp(argv[i], "--batch") == 0) {
		rc = batch(a, &c);
	} else {
		rc = run(a, &c, argv[i], argc - i - 1, argv + i + 1);
	}
	wa_auth_free(a);
	fflush(stdout);
	return rc;
}
