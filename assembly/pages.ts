// Records that never move, for tables of 100k users and more: allocated from 64 KiB pages that
// are filled once and never copied. A growable array would need its old and its new copy at once
// while doubling and leave half the new one empty, which at that size does not fit the default
// 16 MiB of guest memory. Because nothing moves, a record's address can be kept in a hash slot
// or in another record, and read in place by the hot path.

/** Bytes of one page. */
const PAGE_BYTES: i32 = 65536;
/**
 * Readable bytes kept after the last record of a page: the hot path reads whole words (up to 64
 * bytes at a time, buf.ts eqBytesLong) past the end of the names it compares.
 */
const SLACK: i32 = 64;

/** A bump allocator of zeroed, 4-aligned records that live as long as this object. */
export class Pages {
  // Keeps the pages alive for the garbage collector; their addresses are what callers hold.
  private pages: StaticArray<u8>[] = [];
  private at: usize = 0;
  private end: usize = 0;
  /** Bytes of all pages: what these records cost in guest memory. */
  reserved: usize = 0;

  /** Address of `n` zeroed bytes (4-aligned), followed by at least 64 readable bytes. */
  alloc(n: i32): usize {
    const size = (<usize>n + 3) & ~3;
    if (this.at + size > this.end) this.addPage(<i32>size);
    const p = this.at;
    this.at = p + size;
    return p;
  }

  // A new page for a record of `size` bytes: a whole page, or one of its own when it is larger.
  private addPage(size: i32): void {
    const bytes = max(PAGE_BYTES, size + SLACK);
    const page = new StaticArray<u8>(bytes);
    this.pages.push(page);
    this.reserved += <usize>bytes;
    this.at = changetype<usize>(page);
    this.end = this.at + <usize>(bytes - SLACK);
  }
}
