/* The wall-clock deadline of guest calls. It holds whatever the guest does (call-free loops,
 * bulk memory, host calls): one process-wide thread, one glibc does not know about
 * (raw_thread.h), watches every armed call and, once a call
 * has run past its deadline, drives that call's fuel counter below zero, so the next metering
 * check traps (the way wasmtime's epoch interruption stops call-free loops). Host functions
 * charge fuel before costly work, so they stop there too.
 *
 * A call costs its thread two stores and no clock read: the watchdog samples the calls on its
 * own tick (WA_WATCHDOG_TICK_MS) and times each from the first tick that sees it, so a call is
 * stopped between timeout and timeout + one tick after it started. The thread sleeps when no
 * call has run for a second and is woken by the next arm.
 *
 * The watchdog also keeps a millisecond clock that costs one load to read (wa_watchdog_now_ms),
 * and samples for the budgets of guest time (breaker.h). The hot paths are inline here. */
#ifndef WASM_AUTH_WATCHDOG_H
#define WASM_AUTH_WATCHDOG_H

#include <stdint.h>

#define WA_WATCHDOG_TICK_MS  2u
#define WA_WATCH_SLOTS       256u /* instances alive at once (each embedder has one to three) */
#define WA_WATCHDOG_SAMPLERS 16u

#include <stdatomic.h>

/* One per instance that runs guest code (an instance runs on one thread at a time). The owner
 * writes state and timeout_ms; the watchdog thread reads them and writes expired and the fuel
 * counter. */
struct wa_watch {
	_Atomic uint64_t state; /* odd while a call runs; +1 at arm, +1 at disarm */
	_Atomic(int64_t *) fuel;
	_Atomic uint32_t timeout_ms;
	atomic_int expired;
	atomic_int used; /* claimed */
	/* The watchdog thread's own view, under its lock. */
	uint64_t seen_state;
	uint64_t seen_at_ms;
};

extern atomic_int wa_watchdog_idle;
extern _Atomic uint64_t wa_watchdog_clock;

/* Claims a slot for an instance whose fuel counter is *fuel (the watchdog thread starts then).
 * NULL when all WA_WATCH_SLOTS are taken or the thread cannot start: that instance's calls then
 * run under fuel alone. */
struct wa_watch *wa_watch_claim(int64_t *fuel);

/* Gives the slot back; the watchdog no longer touches the fuel counter when this returns. */
void wa_watch_release(struct wa_watch *w);

/* Ends the watchdog thread and waits for it, if no instance and no sampler uses it any more (the
 * plugin, before mosquitto unloads it: no thread may run in an unloaded library). It starts again
 * at the next claim. */
void wa_watchdog_stop(void);

/* Wakes the watchdog from its slow idle tick. */
void wa_watchdog_wake(void);

/* Starts timing one call. */
static inline void wa_watch_arm(struct wa_watch *w, uint32_t timeout_ms)
{
	uint64_t st = atomic_load_explicit(&w->state, memory_order_relaxed);

	atomic_store_explicit(&w->timeout_ms, timeout_ms, memory_order_relaxed);
	atomic_store_explicit(&w->state, st + 1u, memory_order_release);
	/* Rare: only after a second without calls. A wake lost to a race costs one idle tick. */
	if (atomic_load_explicit(&wa_watchdog_idle, memory_order_relaxed)) wa_watchdog_wake();
}

/* Ends it. 1 if the deadline passed during the call (its fuel was then driven below zero). */
static inline int wa_watch_disarm(struct wa_watch *w)
{
	uint64_t st = atomic_load_explicit(&w->state, memory_order_relaxed);

	atomic_store_explicit(&w->state, st + 1u, memory_order_release);
	if (!atomic_load_explicit(&w->expired, memory_order_relaxed)) return 0;
	atomic_store_explicit(&w->expired, 0, memory_order_relaxed);
	return 1;
}

/* Registers fn(arg, elapsed_ms), called on the watchdog thread (so it may use atomics and nothing
 * in libc: raw_thread.h) at every tick with the time since
 * the previous one (at most two ticks' worth), at most WA_WATCHDOG_SAMPLERS of them; NULL fn
 * removes arg's, after which it is never called again. -1 when full or the thread cannot start. */
int wa_watchdog_sampler(void (*fn)(void *arg, uint64_t elapsed_ms), void *arg);

/* Milliseconds on a monotonic clock as of the watchdog's last tick: one load. Stale by up to a
 * tick while calls run, and by up to a second or more once it idles (the clock then lags, never
 * leads). */
static inline uint64_t wa_watchdog_now_ms(void)
{
	return atomic_load_explicit(&wa_watchdog_clock, memory_order_relaxed);
}

/* The same clock read from the system, exact. */
uint64_t wa_watchdog_exact_ms(void);

#endif
