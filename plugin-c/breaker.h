/* The policy's share of broker time, per client and in total. Per-call limits do not bound what
 * one packet costs (a publish fanned out to many subscribers, a subscription matching many
 * retained messages), so every request's cost (the fuel its hook call used; a call that ran out
 * or was stopped at its deadline pays its whole budget) is charged to two token buckets: the client that caused
 * it, and the policy as a whole. A request whose client or the policy has spent its bucket gets
 * the failure decision without entering the guest until the bucket refills; then one client's
 * packets cannot stall the broker for more than its burst, nor get every other client refused
 * unless the policy as a whole runs over its share.
 *
 * Buckets refill at a constant rate from the watchdog's clock (watchdog.h), up to their burst. Clients map to WA_BREAKER_SLOTS buckets by address: two clients in one
 * slot share a budget (about one pair in WA_BREAKER_SLOTS). */
#ifndef WASM_AUTH_BREAKER_H
#define WASM_AUTH_BREAKER_H

#include <stdint.h>

#define WA_BREAKER_SLOTS 4096u /* a power of two */

struct wa_breaker;

/* Fuel per second and at most at once: one client's requests, and all of them. */
struct wa_breaker *wa_breaker_new(int64_t client_rate, int64_t client_burst, int64_t total_rate, int64_t total_burst);
void wa_breaker_free(struct wa_breaker *b);

enum wa_breaker_verdict {
	WA_BREAKER_PASS,
	WA_BREAKER_CLIENT, /* this client is over its budget */
	WA_BREAKER_TOTAL   /* the policy is over its share */
};

/* Whether a request charged to client may enter the guest now. */
enum wa_breaker_verdict wa_breaker_admit(struct wa_breaker *b, const void *client);

/* Charges what a request cost to client and to the total. */
void wa_breaker_charge(struct wa_breaker *b, const void *client, int64_t fuel);

#endif
