/* A thread glibc does not know about, for the watchdog (watchdog.h).
 *
 * Once pthread_create has run, glibc stays in its multi-threaded mode for the life of the
 * process: atomic malloc paths, locked stdio, cancellation checks around system calls. In
 * mosquitto that costs about 200 instructions per message in the broker's own code
 * (docs/BENCHMARKS.md, "Where the whole-broker gap comes from"). The watchdog needs a second
 * thread only to read a clock and store to memory, so on Linux x86-64 and AArch64 it runs on a
 * bare clone(2) thread: same memory, signals blocked for its life, and no libc call at all (it
 * shares the creating thread's thread-local storage, errno included, so it must not touch any).
 * Code that runs on it uses the functions below and C11 atomics, nothing else. Elsewhere the
 * thread is a pthread and the same rules are kept. */
#ifndef WASM_AUTH_RAW_THREAD_H
#define WASM_AUTH_RAW_THREAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#define WA_RAW_THREADS 1
#else
#define WA_RAW_THREADS 0
#include <pthread.h>
#endif

struct wa_raw_thread {
	void (*fn)(void *arg);
	void *arg;
#if WA_RAW_THREADS
	void *stack;
	size_t stack_len;
	_Atomic uint32_t tid; /* the kernel's: set at start, cleared at exit (and waiters woken) */
#else
	pthread_t pthread;
#endif
};

/* Starts fn(arg) on a new thread with stack_len bytes of stack. 0, or -1 when it cannot. */
int wa_raw_thread_start(struct wa_raw_thread *t, void (*fn)(void *arg), void *arg, size_t stack_len);

/* Waits until the thread has returned from fn, and frees its stack. */
void wa_raw_thread_join(struct wa_raw_thread *t);

/* Sleeps while *word == expect, at most timeout_ms, or until wa_raw_wake(word). May return early. */
void wa_raw_wait(_Atomic uint32_t *word, uint32_t expect, uint32_t timeout_ms);

/* Wakes every thread in wa_raw_wait on word. */
void wa_raw_wake(_Atomic uint32_t *word);

/* Milliseconds on CLOCK_MONOTONIC (the clock clock_gettime gives the other threads). */
uint64_t wa_raw_monotonic_ms(void);

/* A mutex for code that runs on such a thread: 0 is unlocked. */
void wa_raw_lock(_Atomic uint32_t *lock);
void wa_raw_unlock(_Atomic uint32_t *lock);

#endif
