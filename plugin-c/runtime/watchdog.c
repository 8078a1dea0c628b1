#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "watchdog.h"

/* With no call for this long the watchdog ticks slowly (and is woken by the next arm). */
#define IDLE_AFTER_MS 1000u
#define IDLE_TICK_MS  50u
/* What a call's fuel becomes at its deadline: far enough below zero that no charge the guest
 * then makes can wrap it back (the largest single charge is below 2^44: memory.grow asking for
 * 2^32 - 1 pages at 2^11 each, gate.h WA_FUEL_PAGE_SHIFT). */
#define FUEL_KILLED (INT64_MIN / 4)

static struct wa_watch slots[WA_WATCH_SLOTS];
static unsigned slots_seen; /* under lock: 1 + the highest slot ever claimed; scans stop there */
static struct {
	void (*fn)(void *arg, uint64_t elapsed_ms);
	void *arg;
} samplers[WA_WATCHDOG_SAMPLERS]; /* under lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int running; /* set under lock */
static int stopping;       /* under lock: the thread is asked to exit */
static pthread_t thread;
atomic_int wa_watchdog_idle;
_Atomic uint64_t wa_watchdog_clock;

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct timespec after_ms(unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000u;
	ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
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

static void *watch(void *arg)
{
	uint64_t quiet_since = monotonic_ms();

	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		uint64_t now = monotonic_ms();
		struct timespec until;
		uint64_t elapsed = now - atomic_load_explicit(&wa_watchdog_clock, memory_order_relaxed);

		atomic_store_explicit(&wa_watchdog_clock, now, memory_order_relaxed);
		if (scan(now)) quiet_since = now;
		/* After an idle tick, a call seen now may have started just before it. */
		if (elapsed > 2u * WA_WATCHDOG_TICK_MS) elapsed = 2u * WA_WATCHDOG_TICK_MS;
		for (unsigned i = 0; i < WA_WATCHDOG_SAMPLERS; i++) {
			if (samplers[i].fn) samplers[i].fn(samplers[i].arg, elapsed);
		}
		atomic_store_explicit(&wa_watchdog_idle, now - quiet_since >= IDLE_AFTER_MS, memory_order_relaxed);
		until = after_ms(atomic_load_explicit(&wa_watchdog_idle, memory_order_relaxed) ? IDLE_TICK_MS
		                                                                               : WA_WATCHDOG_TICK_MS);
		pthread_cond_timedwait(&wake, &lock, &until);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void init_once(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wake, &ca);
	pthread_condattr_destroy(&ca);
}

/* Under lock. The thread takes no signal: mosquitto's (SIGHUP, SIGINT, ...) go to its own. */
static int start(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	if (running) return 0;
	stopping = 0;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64u * 1024u);
	rc = pthread_create(&thread, &attr, watch, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) return -1;
	atomic_store_explicit(&wa_watchdog_clock, monotonic_ms(), memory_order_relaxed);
	running = 1;
	return 0;
}

struct wa_watch *wa_watch_claim(int64_t *fuel)
{
	struct wa_watch *w = NULL;

	pthread_once(&once, init_once);
	pthread_mutex_lock(&lock);
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
	pthread_mutex_unlock(&lock);
	return w;
}

/* Under the lock: the watchdog writes a fuel counter only while holding it, so once this
 * returns it will not touch this one again. */
void wa_watch_release(struct wa_watch *w)
{
	if (!w) return;
	pthread_mutex_lock(&lock);
	atomic_store(&w->fuel, NULL);
	atomic_store(&w->used, 0);
	pthread_mutex_unlock(&lock);
}

int wa_watchdog_sampler(void (*fn)(void *arg, uint64_t elapsed_ms), void *arg)
{
	int rc = -1;

	pthread_once(&once, init_once);
	pthread_mutex_lock(&lock);
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
	pthread_mutex_unlock(&lock);
	return rc;
}

void wa_watchdog_stop(void)
{
	int join = 1;

	pthread_once(&once, init_once);
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; join && i < WA_WATCH_SLOTS; i++) join = !atomic_load(&slots[i].used);
	for (unsigned i = 0; join && i < WA_WATCHDOG_SAMPLERS; i++) join = !samplers[i].fn;
	join = join && running;
	if (join) {
		stopping = 1;
		pthread_cond_signal(&wake);
	}
	pthread_mutex_unlock(&lock);
	if (!join) return;
	pthread_join(thread, NULL);
	pthread_mutex_lock(&lock);
	running = 0;
	pthread_mutex_unlock(&lock);
}

void wa_watchdog_wake(void)
{
	atomic_store_explicit(&wa_watchdog_idle, 0, memory_order_relaxed);
	pthread_cond_signal(&wake);
}

uint64_t wa_watchdog_exact_ms(void)
{
	return monotonic_ms();
}
