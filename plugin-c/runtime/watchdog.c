#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <time.h>

#include "raw_thread.h"
#include "watchdog.h"

/* With no call for this long the watchdog ticks slowly (and is woken by the next arm). */
#define IDLE_AFTER_MS 1000u
#define IDLE_TICK_MS  50u
/* The thread runs scan and the samplers, nothing deeper. */
#define WATCHDOG_STACK_BYTES (64u * 1024u)
/* What a call's fuel becomes at its deadline: far enough below zero that no charge the guest
 * then makes can wrap it back (the largest single charge is below 2^44: memory.grow asking for
 * 2^32 - 1 pages at 2^11 each, gate.h WA_FUEL_PAGE_SHIFT). */
#define FUEL_KILLED (INT64_MIN / 4)

static struct wa_watch slots[WA_WATCH_SLOTS];
static unsigned slots_seen; /* under lock: 1 + the highest slot ever claimed; scans stop there */
static struct {
	void (*fn)(void *arg, uint64_t elapsed_ms);
	void *arg;
} samplers[WA_WATCHDOG_SAMPLERS];   /* under lock */
static _Atomic uint32_t lock;       /* wa_raw_lock */
static _Atomic uint32_t wake_calls; /* the thread sleeps while it is unchanged */
static atomic_int running;          /* set under lock */
static int stopping;                /* under lock: the thread is asked to exit */
static struct wa_raw_thread thread;
atomic_int wa_watchdog_idle;
_Atomic uint64_t wa_watchdog_clock;

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One look at every slot. Returns 1 if any call ran since the last look. Under lock: a fuel
 * counter is written only here, so wa_watch_quiesce (lock, unlock) waits for any write. A call
 * that ends between the state check and the store may find its counter (or, if it re-armed at
 * once, the next call's) below zero: that call then gets the failure decision, never more. */
static int scan(uint64_t now)
{
	int active = 0;

	for (unsigned i = 0; i < slots_seen; i++) {
		struct wa_watch *w = &slots[i];
		uint64_t st = atomic_load_explicit(&w->state, memory_order_acquire);

		if (st != w->seen_state) {
			w->seen_state = st;
			w->seen_at_ms = now;
			active = 1;
			continue;
		}
		if (!(st & 1u)) continue;
		active = 1;
		if (now - w->seen_at_ms >= atomic_load_explicit(&w->timeout_ms, memory_order_relaxed)) {
			int64_t *fuel = atomic_load_explicit(&w->fuel, memory_order_relaxed);

			atomic_store_explicit(&w->expired, 1, memory_order_relaxed);
			/* Again each tick: the guest's own read-modify-write of its counter may overwrite
			 * one store, not all of them. */
			if (fuel && atomic_load_explicit(&w->state, memory_order_acquire) == st) {
				__atomic_store_n(fuel, FUEL_KILLED, __ATOMIC_RELAXED);
			}
		}
	}
	return active;
}

/* On the watchdog's own thread (raw_thread.h: no libc call from here on, samplers included). */
static void watch(void *arg)
{
	uint64_t quiet_since = wa_raw_monotonic_ms();

	(void)arg;
	wa_raw_lock(&lock);
	while (!stopping) {
		uint64_t now = wa_raw_monotonic_ms();
		uint64_t elapsed = now - atomic_load_explicit(&wa_watchdog_clock, memory_order_relaxed);
		uint32_t calls;
		int idle;

		atomic_store_explicit(&wa_watchdog_clock, now, memory_order_relaxed);
		if (scan(now)) quiet_since = now;
		/* After an idle tick, a call seen now may have started just before it. */
		if (elapsed > 2u * WA_WATCHDOG_TICK_MS) elapsed = 2u * WA_WATCHDOG_TICK_MS;
		for (unsigned i = 0; i < WA_WATCHDOG_SAMPLERS; i++) {
			if (samplers[i].fn) samplers[i].fn(samplers[i].arg, elapsed);
		}
		idle = now - quiet_since >= IDLE_AFTER_MS;
		atomic_store_explicit(&wa_watchdog_idle, idle, memory_order_relaxed);
		calls = atomic_load(&wake_calls);
		wa_raw_unlock(&lock);
		wa_raw_wait(&wake_calls, calls, idle ? IDLE_TICK_MS : WA_WATCHDOG_TICK_MS);
		wa_raw_lock(&lock);
	}
	wa_raw_unlock(&lock);
}

/* Under lock. */
static int start(void)
{
	if (running) return 0;
	stopping = 0;
	if (wa_raw_thread_start(&thread, watch, NULL, WATCHDOG_STACK_BYTES) != 0) return -1;
	atomic_store_explicit(&wa_watchdog_clock, monotonic_ms(), memory_order_relaxed);
	running = 1;
	return 0;
}

struct wa_watch *wa_watch_claim(int64_t *fuel)
{
	struct wa_watch *w = NULL;

	wa_raw_lock(&lock);
	if (start() == 0) {
		for (unsigned i = 0; i < WA_WATCH_SLOTS; i++) {
			if (!atomic_load(&slots[i].used)) {
				w = &slots[i];
				if (i >= slots_seen) slots_seen = i + 1;
				atomic_store(&w->used, 1);
				atomic_store(&w->fuel, fuel);
				atomic_store(&w->expired, 0);
				break;
			}
		}
	}
	wa_raw_unlock(&lock);
	return w;
}

/* Under the lock: the watchdog writes a fuel counter only while holding it, so once this
 * returns it will not touch this one again. */
void wa_watch_release(struct wa_watch *w)
{
	if (!w) return;
	wa_raw_lock(&lock);
	atomic_store(&w->fuel, NULL);
	atomic_store(&w->used, 0);
	wa_raw_unlock(&lock);
}

int wa_watchdog_sampler(void (*fn)(void *arg, uint64_t elapsed_ms), void *arg)
{
	int rc = -1;

	wa_raw_lock(&lock);
	for (unsigned i = 0; i < WA_WATCHDOG_SAMPLERS; i++) {
		if (!fn && samplers[i].arg == arg) {
			samplers[i].fn = NULL;
			samplers[i].arg = NULL;
			rc = 0;
		} else if (fn && !samplers[i].fn && rc != 0 && start() == 0) {
			samplers[i].fn = fn;
			samplers[i].arg = arg;
			rc = 0;
		}
	}
	wa_raw_unlock(&lock);
	return rc;
}

void wa_watchdog_stop(void)
{
	int join = 1;

	wa_raw_lock(&lock);
	for (unsigned i = 0; join && i < WA_WATCH_SLOTS; i++) join = !atomic_load(&slots[i].used);
	for (unsigned i = 0; join && i < WA_WATCHDOG_SAMPLERS; i++) join = !samplers[i].fn;
	join = join && running;
	if (join) {
		stopping = 1;
		wa_watchdog_wake();
	}
	wa_raw_unlock(&lock);
	if (!join) return;
	wa_raw_thread_join(&thread);
	wa_raw_lock(&lock);
	running = 0;
	wa_raw_unlock(&lock);
}

void wa_watchdog_wake(void)
{
	atomic_store_explicit(&wa_watchdog_idle, 0, memory_order_relaxed);
	atomic_fetch_add(&wake_calls, 1u);
	wa_raw_wake(&wake_calls);
}

uint64_t wa_watchdog_exact_ms(void)
{
	return monotonic_ms();
}
