#define _GNU_SOURCE /* clone */
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "raw_thread.h"

#if WA_RAW_THREADS
/* A system call without libc's wrapper, which would set errno (thread-local) on failure. */
static long sys4(long n, long a, long b, long c, long d)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
#else
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory", "cc");
	return x0;
#endif
}

/* clone's trampoline returns into a bare exit(2) of this thread alone. */
static int run(void *arg)
{
	struct wa_raw_thread *t = arg;

	t->fn(t->arg);
	return 0;
}

int wa_raw_thread_start(struct wa_raw_thread *t, void (*fn)(void *arg), void *arg, size_t stack_len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	sigset_t all, old;
	char *stack;
	int rc;

	t->fn = fn;
	t->arg = arg;
	t->stack_len = (stack_len + page - 1u) / page * page + page; /* + a guard page below */
	stack = mmap(NULL, t->stack_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) return -1;
	if (mprotect(stack, page, PROT_NONE) != 0) {
		munmap(stack, t->stack_len);
		return -1;
	}
	t->stack = stack;
	atomic_store(&t->tid, 0);
	/* Blocked before it exists, so no signal meant for mosquitto ever runs on it. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	rc = clone(run, stack + t->stack_len,
	           CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
	               CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
	           t, (pid_t *)&t->tid, NULL, (pid_t *)&t->tid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc == -1) {
		munmap(stack, t->stack_len);
		return -1;
	}
	return 0;
}

void wa_raw_thread_join(struct wa_raw_thread *t)
{
	uint32_t tid;

	/* The kernel clears tid once the thread is gone and no longer uses its stack. */
	while ((tid = atomic_load(&t->tid)) != 0) wa_raw_wait(&t->tid, tid, 100u);
	munmap(t->stack, t->stack_len);
}
#else
static long sys4(long n, long a, long b, long c, long d)
{
	return syscall(n, a, b, c, d); /* on a pthread, errno is its own */
}

static void *run(void *arg)
{
	struct wa_raw_thread *t = arg;

	t->fn(t->arg);
	return NULL;
}

int wa_raw_thread_start(struct wa_raw_thread *t, void (*fn)(void *arg), void *arg, size_t stack_len)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	t->fn = fn;
	t->arg = arg;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack_len);
	rc = pthread_create(&t->pthread, &attr, run, t);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

void wa_raw_thread_join(struct wa_raw_thread *t)
{
	pthread_join(t->pthread, NULL);
}
#endif

void wa_raw_wait(_Atomic uint32_t *word, uint32_t expect, uint32_t timeout_ms)
{
	struct timespec ts = { (time_t)(timeout_ms / 1000u), (long)(timeout_ms % 1000u) * 1000000L };

	/* Not FUTEX_PRIVATE_FLAG: the kernel's wake at thread exit (CLONE_CHILD_CLEARTID) is shared. */
	sys4(SYS_futex, (long)word, FUTEX_WAIT, (long)expect, (long)&ts);
}

void wa_raw_wake(_Atomic uint32_t *word)
{
	sys4(SYS_futex, (long)word, FUTEX_WAKE, (long)INT32_MAX, 0);
}

uint64_t wa_raw_monotonic_ms(void)
{
	struct timespec ts = { 0, 0 };

	sys4(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Drepper's three-state mutex ("Futexes Are Tricky"): 1 locked, 2 locked with waiters. */
void wa_raw_lock(_Atomic uint32_t *lock)
{
	uint32_t c = 0;

	if (atomic_compare_exchange_strong(lock, &c, 1u)) return;
	if (c != 2u) c = atomic_exchange(lock, 2u);
	while (c != 0u) {
		wa_raw_wait(lock, 2u, 1000u);
		c = atomic_exchange(lock, 2u);
	}
}

void wa_raw_unlock(_Atomic uint32_t *lock)
{
	if (atomic_exchange(lock, 0u) == 2u) wa_raw_wake(lock);
}
