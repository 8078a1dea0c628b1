/* Strings that end at the last byte of a readable page, the next page unmapped: a compare that
 * loads past a string's terminator across the page end (short_str.h must not) faults here. */
#ifndef WA_TEST_PAGE_EDGE_H
#define WA_TEST_PAGE_EDGE_H

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Two pages, the second without access; NULL on failure. */
static inline char *page_edge_new(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, (size_t)page * 2u, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) return NULL;
	if (mprotect(p + page, (size_t)page, PROT_NONE) != 0) {
		munmap(p, (size_t)page * 2u);
		return NULL;
	}
	return p;
}

/* s copied so that its terminator is the page's last byte. */
static inline const char *page_edge_put(char *pages, const char *s)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = strlen(s);
	char *at = pages + page - n - 1u;

	memcpy(at, s, n + 1u);
	return at;
}

static inline void page_edge_free(char *pages)
{
	if (pages) munmap(pages, (size_t)sysconf(_SC_PAGESIZE) * 2u);
}

#endif
