/* The watchdog's thread (runtime/raw_thread.c, runtime/watchdog.c): a call past its deadline has
 * its fuel driven below zero, samplers run, the lock excludes, the thread stops and starts again,
 * and on Linux x86-64/AArch64 glibc never learns of the thread (it stays in its single-threaded
 * mode, the point of the raw thread). */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdint.h>
#include <sys/single_threaded.h>
#include <time.h>

#include "check.h"
#include "../runtime/raw_thread.h"
#include "../runtime/watchdog.h"

#define ROUNDS 200000

static _Atomic uint32_t lock;
static _Atomic uint32_t go;
static unsigned long counter; /* under lock */
static atomic_ulong sampled_ms;

static void add_many(void *arg)
{
	(void)arg;
	while (!atomic_load(&go)) wa_raw_wait(&go, 0u, 100u);
	for (int i = 0; i < ROUNDS; i++) {
		wa_raw_lock(&lock);
		counter++;
		wa_raw_unlock(&lock);
	}
}

static void sample(void *arg, uint64_t elapsed_ms)
{
	(void)arg;
	atomic_fetch_add(&sampled_ms, elapsed_ms);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void lock_excludes(void)
{
	struct wa_raw_thread t;

	CHECK_INT(wa_raw_thread_start(&t, add_many, NULL, 64u * 1024u), 0);
	atomic_store(&go, 1u);
	wa_raw_wake(&go);
	for (int i = 0; i < ROUNDS; i++) {
		wa_raw_lock(&lock);
		counter++;
		wa_raw_unlock(&lock);
	}
	wa_raw_thread_join(&t);
	CHECK_INT(counter, 2ul * ROUNDS);
}

/* A guest call spinning on its fuel counter, as metered code does. */
static void deadline_stops_a_call(void)
{
	static int64_t fuel;
	struct wa_watch *w = wa_watch_claim(&fuel);
	uint64_t start = now_ms();

	CHECK(w != NULL);
	if (!w) return;
	fuel = INT64_MAX / 2;
	wa_watch_arm(w, 30u);
	while (__atomic_load_n(&fuel, __ATOMIC_RELAXED) >= 0 && now_ms() - start < 10000u) {
		__atomic_store_n(&fuel, __atomic_load_n(&fuel, __ATOMIC_RELAXED) - 1, __ATOMIC_RELAXED);
	}
	CHECK(fuel < 0);
	CHECK(now_ms() - start >= 30u);
	CHECK_INT(wa_watch_disarm(w), 1);
	/* A call within its deadline is left alone. */
	fuel = 1000;
	wa_watch_arm(w, 60000u);
	CHECK_INT(wa_watch_disarm(w), 0);
	CHECK_INT(fuel, 1000);
	wa_watch_release(w);
}

static void samplers_run(void)
{
	uint64_t start = now_ms();

	CHECK_INT(wa_watchdog_sampler(sample, &sampled_ms), 0);
	while (atomic_load(&sampled_ms) < 20u && now_ms() - start < 10000u) {
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
	CHECK(atomic_load(&sampled_ms) >= 20u);
	CHECK_INT(wa_watchdog_sampler(NULL, &sampled_ms), 0);
}

int main(void)
{
	lock_excludes();
	for (int round = 0; round < 3; round++) { /* stopped and started again */
		deadline_stops_a_call();
		samplers_run();
		wa_watchdog_stop();
	}
	CHECK(wa_watchdog_exact_ms() >= wa_watchdog_now_ms());
#if WA_RAW_THREADS
	CHECK(__libc_single_threaded);
#else
	printf("test_watchdog: SKIPPED the single-threaded check: this architecture uses a pthread\n");
#endif
	return check_done();
}
