// Records that never move, for tables of 100k users and more: allocated from 64 KiB pages that
// are filled once and never copied. A growable array would need its old and its new copy at once
// while doubling and leave half the new one empty, which at that size does not fit the default
// 16 MiB of guest memory. Because nothing moves, a record's address can be kept in a hash slot
// or in another record, and read in place by the hot path.
//
// Allocation runs once per line of a data file, so it works on plain globals (allocRecord): a
// method of a managed object costs AssemblyScript's shadow-stack stores on every call, which
// under the interpreter were a third of a password file's parse. Pages.begin() points the
// globals at one Pages; pages are added through it (the rare, allocating path).
//
// Cold paths of the per-line parse (here and in users.ts, acl.ts) are called through function
// variables, that is call_indirect: binaryen inlines every function that has a single caller,
// and the fuel metering charges a function's whole body on every call (docs/SECURITY.md, "Fuel
// metering"), so an inlined cold path would be paid on every line of a 100k-line file.

/** Bytes of one page. */
const PAGE_BYTES: i32 = 65536;
/**
 * Readable bytes kept after the last record of a page: the hot path reads whole words (up to 64
 * bytes at a time, words.ts eqBytesLong) past the end of the names it compares.
 */
const SLACK: i32 = 64;

// The page being filled, of the Pages begun last.
let at: usize = 0;
let end: usize = 0;
let current: Pages | null = null;

/** Address of `n` zeroed bytes (4-aligned), followed by at least 64 readable bytes, from the Pages begun last. */
export function allocRecord(n: i32): usize {
  const size = (<usize>n + 3) & ~3;
  if (at + size > end) addPageCold(<i32>size);
  const p = at;
  at = p + size;
  return p;
}

// A new page for a record of `size` bytes: a whole page, or one of its own when it is larger.
let addPageCold = (size: i32): void => addPage(size);
function addPage(size: i32): void {
  const bytes = max(PAGE_BYTES, size + SLACK);
  const page = new StaticArray<u8>(bytes);
  current!.keep(page);
  at = changetype<usize>(page);
  end = at + <usize>(bytes - SLACK);
}

/** The pages of one table: they live as long as this object. */
export class Pages {
  private pages: StaticArray<u8>[] = [];
  private at: usize = 0;
  private end: usize = 0;
  /** Bytes of all pages: what these records cost in guest memory. */
  reserved: usize = 0;

  /** Makes allocRecord() allocate from these pages (until another Pages begins). */
  begin(): void {
    const c = current;
    if (c === this) return;
    if (c !== null) c.save();
    current = this;
    at = this.at;
    end = this.end;
  }

  private save(): void {
    this.at = at;
    this.end = end;
  }

  /** Keeps `page` alive with this object. */
  keep(page: StaticArray<u8>): void {
    this.pages.push(page);
    this.reserved += <usize>page.length;
  }
}
