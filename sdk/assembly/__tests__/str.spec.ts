import { Str, STR_SLACK } from "../index";
import { wasm_auth_buffer } from "../abi";
import { str, bytes, allocations } from "../testing";

describe("Str", () => {
  it("holds the UTF-8 bytes of a string", () => {
    const s = str("aé€𝄞");
    expect(s.length).toBe(1 + 2 + 3 + 4);
    expect(s.byteAt(0)).toBe(0x61);
    expect(s.byteAt(1)).toBe(0xc3);
    expect(s.byteAt(2)).toBe(0xa9);
    expect(s.byteAt(6)).toBe(0xf0);
    expect(s.toString()).toBe("aé€𝄞");
  });

  it("compares with strings byte-exactly, ASCII and beyond", () => {
    expect(str("hello").equals("hello")).toBe(true);
    expect(str("hello").equals("hell")).toBe(false);
    expect(str("hell").equals("hello")).toBe(false);
    expect(str("hello").equals("hellO")).toBe(false);
    expect(str("").equals("")).toBe(true);
    expect(str("").equals("a")).toBe(false);
    expect(str("grüße").equals("grüße")).toBe(true);
    expect(str("grüße").equals("grusse")).toBe(false);
    expect(str("€").equals("€")).toBe(true);
    expect(str("€").equals("¢")).toBe(false);
    expect(str("𝄞x").equals("𝄞x")).toBe(true);
    expect(str("𝄞").equals("𝄢")).toBe(false);
    // é as one code point vs e + combining accent: different bytes, not equal.
    expect(str("\u00e9").equals("e\u0301")).toBe(false);
  });

  it("matches a lone surrogate the way String.UTF8.encode writes it", () => {
    const lone = String.fromCharCode(0xd800);
    expect(str(lone).equals(lone)).toBe(true);
    expect(str(lone).length).toBe(3);
    expect(str("\ufffd").equals(lone)).toBe(false);
  });

  it("compares raw bytes that are not valid UTF-8", () => {
    const b = bytes([0xff, 0x00, 0x41]);
    expect(b.length).toBe(3);
    expect(b.equals("\u00ff\u0000A")).toBe(false);
    expect(b.equalsStr(bytes([0xff, 0x00, 0x41]))).toBe(true);
    expect(b.equalsStr(bytes([0xff, 0x00]))).toBe(false);
    expect(b.indexOfByte(0)).toBe(1);
  });

  it("tests prefixes and suffixes", () => {
    const s = str("sensors/küche/temp");
    expect(s.startsWith("sensors/")).toBe(true);
    expect(s.startsWith("sensors/kü")).toBe(true);
    expect(s.startsWith("sensors/ku")).toBe(false);
    expect(s.startsWith("")).toBe(true);
    expect(s.startsWith("sensors/küche/temp/x")).toBe(false);
    expect(s.endsWith("/temp")).toBe(true);
    expect(s.endsWith("küche/temp")).toBe(true);
    expect(s.endsWith("kuche/temp")).toBe(false);
    expect(s.endsWith("")).toBe(true);
    expect(s.endsWith("x/sensors/küche/temp")).toBe(false);
    expect(s.startsWithStr(str("sensors"))).toBe(true);
    expect(s.startsWithStr(str("sensorz"))).toBe(false);
    expect(str("ab").startsWithStr(str("abc"))).toBe(false);
  });

  it("finds bytes and wildcards", () => {
    const s = str("a/b/c");
    expect(s.indexOfByte(0x2f)).toBe(1);
    expect(s.indexOfByte(0x2f, 2)).toBe(3);
    expect(s.indexOfByte(0x2f, 4)).toBe(-1);
    expect(s.indexOfByte(0x78)).toBe(-1);
    expect(s.hasWildcard()).toBe(false);
    expect(str("a/+/c").hasWildcard()).toBe(true);
    expect(str("a/#").hasWildcard()).toBe(true);
    expect(str("").isEmpty()).toBe(true);
    expect(s.isEmpty()).toBe(false);
  });

  it("splits topic levels, empty ones included", () => {
    const s = str("a//ü/");
    expect(s.levelCount()).toBe(4);
    expect(s.level(0)).toBe("a");
    expect(s.level(1)).toBe("");
    expect(s.level(2)).toBe("ü");
    expect(s.level(3)).toBe("");
    expect(s.level(4)).toBe("");
    expect(s.levelEquals(0, "a")).toBe(true);
    expect(s.levelEquals(1, "")).toBe(true);
    expect(s.levelEquals(2, "ü")).toBe(true);
    expect(s.levelEquals(2, "u")).toBe(false);
    expect(s.levelEquals(4, "")).toBe(false);
    expect(s.levelEquals(-1, "a")).toBe(false);
    expect(s.levelEqualsStr(2, str("ü"))).toBe(true);
    expect(s.levelEqualsStr(0, str("ab"))).toBe(false);
    expect(str("").levelCount()).toBe(1);
    expect(str("abc").levelEquals(0, "ab")).toBe(false);
    expect(str("abc").levelEquals(0, "abcd")).toBe(false);
  });

  it("copies bytes out", () => {
    const b = str("hi€").toBytes();
    expect(b.length).toBe(5);
    expect(b[0]).toBe(0x68);
    expect(b[4]).toBe(0xac);
    const again = Str.fromBytes(b);
    expect(again.equals("hi€")).toBe(true);
  });

  it("frees what fromString/fromBytes allocate: a reload loop does not grow memory", () => {
    const big = "x".repeat(4000);
    const raw = new Uint8Array(4000);
    Str.fromString(big).free();
    Str.fromBytes(raw).free();
    const pages = memory.size();
    // Without free() this loop would take 8 MB, far past the pages the first blocks needed.
    let total = 0;
    for (let i = 0; i < 1000; i++) {
      const a = Str.fromString(big);
      const b = Str.fromBytes(raw);
      total += a.length + b.length;
      a.free();
      b.free();
    }
    expect(total).toBe(1000 * 8000);
    expect(memory.size()).toBe(pages);
  });

  it("free() leaves alone a Str it did not allocate", () => {
    // A descriptor pointing elsewhere, as the host writes them into the request buffer.
    const owner = str("host bytes");
    const view = changetype<Str>(heap.alloc(offsetof<Str>()));
    view.ptr = owner.ptr;
    view.len = owner.len;
    view.free();
    expect(view.equals("host bytes")).toBe(true);
    expect(owner.equals("host bytes")).toBe(true);
    heap.free(changetype<usize>(view));
    owner.free();
  });

  it("traps on an out-of-range byteAt", () => {
    expect(() => { str("ab").byteAt(2); }).toThrow();
    expect(() => { str("ab").byteAt(-1); }).toThrow();
  });

  it("compares and inspects without allocating", () => {
    const s = str("sensors/küche/temp");
    const o = str("sensors/küche/temp");
    const before = allocations();
    let n = 0;
    for (let i = 0; i < 100; i++) {
      if (s.equals("sensors/küche/temp")) n++;
      if (s.equalsStr(o)) n++;
      if (s.startsWith("sensors/")) n++;
      if (s.endsWith("/temp")) n++;
      if (s.levelEquals(1, "küche")) n++;
      if (s.levelEqualsStr(0, o)) n++; // false: level 0 is "sensors"
      if (s.hasWildcard()) n++;        // false
      n += s.levelCount() + s.indexOfByte(0x2f) + <i32>s.byteAt(0) + s.length;
    }
    const after = allocations();
    expect(n).toBe(100 * (5 + 3 + 7 + 0x73 + 19));
    expect(after).toBe(before);
  });
});

// Payload bytes of the heap block at `p`: TLSF keeps them, with two flag bits, in the word
// before the block (AssemblyScript's rt/tlsf.ts, mmInfo).
function blockBytes(p: usize): usize {
  return load<usize>(p - sizeof<usize>()) & ~(<usize>3);
}

// What hot paths rely on: a whole u64 can be loaded at the end of any value.
const WORD: usize = sizeof<u64>();

describe("STR_SLACK", () => {
  it("is at least a word", () => {
    expect(STR_SLACK).toBeGreaterThanOrEqual(WORD);
  });

  it("keeps readable bytes after the request buffer's capacity, also when it grows", () => {
    // 28 and 4108 fill their TLSF blocks exactly: without the slack nothing would follow them.
    const sizes: i32[] = [0, 1, 7, 16, 28, 4096, 4097, 4108, 10000, 65536];
    for (let i = 0; i < sizes.length; i++) {
      const n = sizes[i];
      const p = wasm_auth_buffer(n);
      expect(blockBytes(p)).toBeGreaterThanOrEqual(<usize>(n > 16 ? n : 16) + WORD, n.toString());
    }
  });

  it("keeps readable bytes after the bytes of a Str made by the guest", () => {
    // 4 and 20 bytes (after the 8-byte descriptor) fill their TLSF blocks exactly.
    const texts = ["", "a", "abcd", "bench", "bench-sub", "0123456789abcdef", "0123456789abcdefghij", "x".repeat(100)];
    for (let i = 0; i < texts.length; i++) {
      const s = str(texts[i]);
      expect(blockBytes(changetype<usize>(s)) - offsetof<Str>()).toBeGreaterThanOrEqual(<usize>s.length + WORD, texts[i]);
    }
  });
});
