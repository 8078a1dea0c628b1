// Reading a data file line by line, and the state every parse shares (one file at a time), on
// plain globals: pages.ts says why.
import { Lines, lineEnd } from "../../sdk/assembly/lines";

/** A parse error: the 1-based line and what is wrong with it. */
export class ParseError {
  constructor(public line: i32, public message: string) {}
}

/** 1-based number of the line being read. */
export let lineNo: i32 = 0;
let failure: string | null = null;

/** Makes `message` the error of the line being read; returns false (the line is invalid). */
export function fail(message: string): bool {
  failure = message;
  return false;
}

/** fail() with the bytes `[from, to)` at `base` as text between `before` and `after`. */
export function failText(base: usize, before: string, from: i32, to: i32, after: string): bool {
  return fail(before + String.UTF8.decodeUnsafe(base + <usize>from, <usize>(to - from)) + after);
}

/**
 * Calls `line(base, start, end)` for every line of `lines` (each without its "\n") until one
 * returns false, having called fail(); returns that error, the reader's own (a line too long, a
 * read failing), or null.
 */
export function readLines(lines: Lines, line: (base: usize, start: i32, end: i32) => bool): ParseError | null {
  lineNo = 0;
  failure = null;
  while (failure === null && lines.nextChunk()) {
    const base = lines.base;
    const to = lines.end;
    let i = lines.start;
    while (i < to) {
      const e = lineEnd(base, i, to);
      lineNo++;
      if (!line(base, i, e)) break;
      i = e + 1;
    }
  }
  if (failure === null && lines.error !== null) {
    lineNo++; // the line after the last one read
    failure = lines.error;
  }
  const f = failure;
  return f !== null ? new ParseError(lineNo, f) : null;
}
