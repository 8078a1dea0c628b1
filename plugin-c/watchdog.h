/* The wall-clock deadline of guest calls. It holds whatever the guest does (call-free loops,
 * bulk memory, host calls): one process-wide thread watches every armed call and, once a call
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
 * for the per-client budgets (breaker.h). */
#ifndef WASM_AUTH_WATCHDOG_H
#define WASM_AUTH_WATCHDOG_H

#include <stdint.h>

#define WA_WATCHDOG_TICK_MS 2u

/* One per thread that runs guest code. */
struct wa_watch;

/* This thread's slot, claimed on first use (the watchdog thread starts then). NULL when every
 * slot is taken or the thread cannot start: calls then run under fuel alone. */
struct wa_watch *wa_watch_mine(void);

/* Gives this thread's slot back (a thread that ran guest code and is about to exit). */
void wa_watch_release(void);

/* Starts timing one call whose fuel counter is *fuel. */
void wa_watch_arm(struct wa_watch *w, int64_t *fuel, uint32_t timeout_ms);

/* Ends it. 1 if the deadline passed during the call (its fuel was then driven below zero). */
int wa_watch_disarm(struct wa_watch *w);

/* Returns once the watchdog is done with any fuel counter of a call that has been disarmed:
 * call it before freeing the memory a fuel counter lives in. */
void wa_watch_quiesce(void);

/* Milliseconds on a monotonic clock: the watchdog's, updated on each tick while calls run (one
 * load), else read from the system. */
uint64_t wa_watchdog_now_ms(void);

#endif
