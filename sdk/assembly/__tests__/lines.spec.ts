// Line readers: LineReader over bytes in memory and OptionFileLines streaming an option file in
// chunks through option_file_read_at give the same lines, byte for byte, whatever the chunk size.
import { Options, OptionFileError, Lines, LineReader, OptionFileLines, isSpace } from "../index";
import { options, setOptionFile } from "../testing";

const DIR = "sdk/assembly/__tests__/fixtures/";
const FILES: string[] = [
  "lines-crlf.txt", "lines-long.txt", "lines-nul.txt", "lines-newlines.txt", "users.txt", "users.json", "empty.txt",
];
const CHUNKS: i32[] = [1, 2, 3, 7, 64, 65536];

let opts: Options = options([]);

function withFile(name: string): Options {
  opts = options([["data_file", DIR + name]]);
  setOptionFile("data_file", DIR + name);
  return opts;
}

// The current lines of a and b hold the same bytes, before and after trimEnd().
function sameLine(a: Lines, b: Lines): bool {
  if (a.lineNo != b.lineNo || a.end - a.start != b.end - b.start || a.hasNul() != b.hasNul()) return false;
  if (memory.compare(a.base + <usize>a.start, b.base + <usize>b.start, <usize>(a.end - a.start)) != 0) return false;
  if (a.text(a.start, a.end) != b.text(b.start, b.end)) return false;
  a.trimEnd();
  b.trimEnd();
  return a.end - a.start == b.end - b.start && a.text(a.start, a.end) == b.text(b.start, b.end);
}

// Lines of the whole file in memory against the file streamed in `chunk`-byte reads: the count
// of lines, or -1 at the first difference.
function compare(name: string, chunk: i32): i32 {
  const o = withFile(name);
  const bytes = o.readFile("data_file");
  if (bytes === null) return -1;
  const whole = new LineReader(bytes);
  const streamed = OptionFileLines.open(o, "data_file", chunk);
  if (streamed === null) return -1;
  let n = 0;
  while (true) {
    const more = whole.next();
    if (more != streamed.next()) return -1;
    if (!more) break;
    if (!sameLine(whole, streamed)) return -1;
    n++;
  }
  return streamed.error === null ? n : -1;
}

describe("isSpace", () => {
  it("is C's isspace in the C locale", () => {
    for (let c: u32 = 0; c < 256; c++) {
      const want = c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0b || c == 0x0c || c == 0x0d;
      expect(isSpace(c)).toBe(want, c.toString());
    }
  });
});

describe("LineReader", () => {
  it("splits at \\n, keeps \\r, and gives a last line without \\n", () => {
    const r = new LineReader(Uint8Array.wrap(String.UTF8.encode("a b \r\n\nlast")));
    expect(r.next()).toBe(true);
    expect(r.lineNo).toBe(1);
    expect(r.text(r.start, r.end)).toBe("a b \r");
    r.trimEnd();
    expect(r.text(r.start, r.end)).toBe("a b");
    expect(r.equals(r.start, r.end, "a b")).toBe(true);
    expect(r.equals(r.start, r.end, "a c")).toBe(false);
    expect(r.next()).toBe(true);
    expect(r.end - r.start).toBe(0);
    expect(r.next()).toBe(true);
    expect(r.lineNo).toBe(3);
    expect(r.text(r.start, r.end)).toBe("last");
    expect(r.next()).toBe(false);
    expect(r.error).toBeNull();
  });
});

describe("OptionFileLines", () => {
  it("gives LineReader's lines, byte for byte, at every chunk size", () => {
    for (let f = 0; f < FILES.length; f++) {
      const whole = compare(FILES[f], 65536);
      expect(whole).toBeGreaterThanOrEqual(0, FILES[f]);
      for (let c = 0; c < CHUNKS.length; c++) {
        expect(compare(FILES[f], CHUNKS[c])).toBe(whole, FILES[f] + " in chunks of " + CHUNKS[c].toString());
      }
    }
    expect(compare("lines-crlf.txt", 1)).toBe(8);
    expect(compare("lines-newlines.txt", 2)).toBe(3);
    expect(compare("empty.txt", 3)).toBe(0);
  });

  it("ends with an error at a line longer than maxLineBytes", () => {
    // lines-long.txt: "short", 300 x, "tail", 150 y without a newline.
    for (let c = 0; c < CHUNKS.length; c++) {
      const r = OptionFileLines.open(withFile("lines-long.txt"), "data_file", CHUNKS[c], 299)!;
      expect(r.next()).toBe(true);
      expect(r.text(r.start, r.end)).toBe("short");
      expect(r.next()).toBe(false);
      expect(r.error).toBe("line 2 is longer than 299 bytes");
      expect(r.next()).toBe(false, "and stays ended");
    }
    // Exactly maxLineBytes is not too long, nor is a last line without "\n" at the limit.
    for (let c = 0; c < CHUNKS.length; c++) {
      const r = OptionFileLines.open(withFile("lines-long.txt"), "data_file", CHUNKS[c], 300)!;
      let n = 0;
      while (r.next()) n++;
      expect(r.error).toBeNull();
      expect(n).toBe(4);
    }
    const last = OptionFileLines.open(withFile("lines-long.txt"), "data_file", 7, 149)!;
    let n = 0;
    while (last.next()) n++;
    expect(n).toBe(1, "\"short\", then line 2 is too long");
    expect(last.error).toBe("line 2 is longer than 149 bytes");
  });

  it("is null when the file cannot be read, and says why as readFile does", () => {
    const o = options([["data_file", DIR + "does-not-exist"], ["mode", "x"]]);
    setOptionFile("data_file", DIR + "does-not-exist");
    expect(OptionFileLines.open(o, "data_file")).toBeNull();
    expect(o.lastFileErrorCode()).toBe(OptionFileError.NotFound);
    expect(o.lastFileError()).toBe("data_file (" + DIR + "does-not-exist): not found");
    expect(o.lines("mode")).toBeNull();
    expect(o.lastFileErrorCode()).toBe(OptionFileError.NotFileOption);
    expect(o.lines("absent_file")).toBeNull();
    expect(o.lastFileErrorCode()).toBe(OptionFileError.Absent);
    expect(o.lastFileError()).toBe("absent_file: not set");
    setOptionFile("data_file", "sdk/assembly/__tests__/fixtures");
    expect(o.lines("data_file")).toBeNull();
    expect(o.lastFileErrorCode()).toBe(OptionFileError.NotRegularFile);
    const ok = withFile("users.txt").lines("data_file");
    expect(ok).not.toBeNull();
    expect(opts.lastFileError()).toBeNull();
    expect(opts.lastFileErrorCode()).toBe(OptionFileError.None);
  });

  it("ends with the option file error when a later chunk cannot be read", () => {
    const o = withFile("lines-long.txt");
    const r = o.lines("data_file", 16)!;
    expect(r.next()).toBe(true);
    // The path now names no file, and naming it let go of the open file (testing.ts).
    setOptionFile("data_file", DIR + "gone");
    expect(r.next()).toBe(false);
    expect(r.error).toBe("data_file (" + DIR + "lines-long.txt): not found");
    expect(o.lastFileErrorCode()).toBe(OptionFileError.NotFound);
  });

  it("reads through Options.lines with the defaults", () => {
    const r = withFile("users.txt").lines("data_file")!;
    expect(r.next()).toBe(true);
    expect(r.lineNo).toBe(1);
    expect(r.text(r.start, r.end).startsWith("alice:")).toBe(true);
  });
});
