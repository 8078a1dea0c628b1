// A strict JSON reader (RFC 8259) for data files: users, roles, topic rules. It reads the UTF-8
// bytes an option file gives (no UTF-16 copy of the whole text), never traps on bad input, and
// reports the first error with its line and column. Limits keep hostile data bounded: nesting
// depth (the parser recurses once per level), each string's length; the file itself is capped
// by the host (WA_MAX_OPTION_FILE_BYTES), the time by the init fuel, the memory by
// wasm_max_memory_pages.

/** Default nesting limit of {@link parseJson}: arrays and objects inside one another. */
export const JSON_MAX_DEPTH: i32 = 64;
/** Default limit on one string's UTF-8 bytes (escapes decoded): an MQTT field's maximum. */
export const JSON_MAX_STRING_BYTES: i32 = 65535;

/** What a {@link JsonValue} holds. */
export enum JsonKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

// Objects with more members than this get a name index; smaller ones are scanned.
const INDEX_FROM: i32 = 8;

/**
 * One JSON value. Accessors never trap: asking a value for another kind gives null (or false,
 * NaN), so a policy checks the shape of its data with plain `if`s and names what is wrong.
 */
export class JsonValue {
  /** What this value holds. */
  readonly kind: JsonKind;
  private num: f64 = 0;
  private text: string | null = null;
  // A string without escapes is kept as its UTF-8 bytes in the parsed data (valid UTF-8,
  // checked by the parser) and decoded when asked for: most strings in a data file are read once.
  private data: Uint8Array | null = null;
  private from: i32 = 0;
  private bytes: i32 = 0;
  // Array: the items. Object: the member values, in file order, with their names in `names`.
  // Sized exactly when the container is complete (one allocation each, none per item).
  private items: StaticArray<JsonValue> | null = null;
  private names: StaticArray<string> | null = null;
  private index: Map<string, i32> | null = null;

  constructor(kind: JsonKind) {
    this.kind = kind;
  }

  // Values made by the parser.
  static ofNull(): JsonValue {
    return new JsonValue(JsonKind.Null);
  }

  static ofBool(b: bool): JsonValue {
    const v = new JsonValue(JsonKind.Bool);
    v.num = b ? 1 : 0;
    return v;
  }

  static ofNumber(n: f64): JsonValue {
    const v = new JsonValue(JsonKind.Number);
    v.num = n;
    return v;
  }

  static ofString(s: string): JsonValue {
    const v = new JsonValue(JsonKind.String);
    v.text = s;
    return v;
  }

  static container(kind: JsonKind, items: StaticArray<JsonValue>, names: StaticArray<string> | null, index: Map<string, i32> | null): JsonValue {
    const v = new JsonValue(kind);
    v.items = items;
    v.names = names;
    v.index = index;
    return v;
  }

  /** True for `null`. */
  isNull(): bool { return this.kind == JsonKind.Null; }
  /** True for `true` and `false`. */
  isBool(): bool { return this.kind == JsonKind.Bool; }
  /** True for a number. */
  isNumber(): bool { return this.kind == JsonKind.Number; }
  /** True for a string. */
  isString(): bool { return this.kind == JsonKind.String; }
  /** True for an array. */
  isArray(): bool { return this.kind == JsonKind.Array; }
  /** True for an object. */
  isObject(): bool { return this.kind == JsonKind.Object; }

  /** The boolean; false for other kinds. */
  asBool(): bool { return this.kind == JsonKind.Bool && this.num != 0; }

  /** The number; NaN for other kinds. */
  asNumber(): f64 { return this.kind == JsonKind.Number ? this.num : NaN; }

  /** The number when it is an integer that fits an i32, else `fallback`. */
  asI32(fallback: i32 = 0): i32 {
    const n = this.num;
    if (this.kind != JsonKind.Number || n != Math.floor(n) || n < <f64>i32.MIN_VALUE || n > <f64>i32.MAX_VALUE) return fallback;
    return <i32>n;
  }

  /** The string (decoded on each call); null for other kinds. */
  asString(): string | null {
    if (this.kind != JsonKind.String) return null;
    const data = this.data;
    if (data !== null) return String.UTF8.decodeUnsafe(data.dataStart + <usize>this.from, <usize>this.bytes);
    return this.text;
  }

  // A string value whose bytes are data[from, from + bytes): valid UTF-8 without escapes.
  static slice(data: Uint8Array, from: i32, bytes: i32): JsonValue {
    const v = new JsonValue(JsonKind.String);
    v.data = data;
    v.from = from;
    v.bytes = bytes;
    return v;
  }

  /** Items of an array, members of an object; 0 for other kinds. */
  get length(): i32 {
    const items = this.items;
    return items === null ? 0 : items.length;
  }

  /** Item `i` of an array (or the value of member `i` of an object), null when out of range. */
  at(i: i32): JsonValue | null {
    const items = this.items;
    if (items === null || <u32>i >= <u32>items.length) return null;
    return unchecked(items[i]);
  }

  /** Name of member `i` of an object, null when out of range or not an object. */
  nameAt(i: i32): string | null {
    const names = this.names;
    if (names === null || <u32>i >= <u32>names.length) return null;
    return unchecked(names[i]);
  }

  /** Member names of an object in file order (a copy); empty for other kinds. */
  keys(): string[] {
    const names = this.names;
    const out = new Array<string>();
    if (names !== null) for (let i = 0; i < names.length; i++) out.push(unchecked(names[i]));
    return out;
  }

  /** Position of member `name` in an object, -1 when absent or not an object. */
  indexOf(name: string): i32 {
    const names = this.names;
    if (names === null) return -1;
    const index = this.index;
    if (index !== null) return index.has(name) ? index.get(name) : -1;
    for (let i = 0; i < names.length; i++) if (unchecked(names[i]) == name) return i;
    return -1;
  }

  /** True when this is an object with member `name`. */
  has(name: string): bool { return this.indexOf(name) >= 0; }

  /** Member `name` of an object; null when absent or not an object. */
  get(name: string): JsonValue | null {
    const i = this.indexOf(name);
    return i < 0 ? null : unchecked(this.items![i]);
  }

  /** Member `name` when it is a string, else null. */
  getString(name: string): string | null {
    const v = this.get(name);
    return v === null ? null : v.asString();
  }

  /** Member `name` when it is an array, else null. */
  getArray(name: string): JsonValue | null {
    const v = this.get(name);
    return v !== null && v.kind == JsonKind.Array ? v : null;
  }

  /** Member `name` when it is an object, else null. */
  getObject(name: string): JsonValue | null {
    const v = this.get(name);
    return v !== null && v.kind == JsonKind.Object ? v : null;
  }
}

/** Where and why {@link parseJson} stopped. */
export class JsonError {
  constructor(
    /** What is wrong, e.g. `expected ',' or ']' after an array item, found '}'`. */
    public message: string,
    /** Byte offset in the data. */
    public offset: i32,
    /** 1-based line. */
    public line: i32,
    /** 1-based column, in bytes. */
    public column: i32,
  ) {}

  /** `line L, column C: message`. */
  toString(): string {
    return "line " + this.line.toString() + ", column " + this.column.toString() + ": " + this.message;
  }
}

/** What {@link parseJson} gives: the value, or the error (exactly one of them is set). */
export class JsonResult {
  constructor(public value: JsonValue | null, public error: JsonError | null) {}
}

/**
 * Parses UTF-8 JSON text. One value, with whitespace around it (a UTF-8 byte order mark at the
 * start is skipped); strings must be valid UTF-8 with their escapes, and hold no unpaired
 * surrogate; a member name may not repeat in an object. Deeper nesting than `maxDepth` and
 * strings longer than `maxStringBytes` are errors. Never traps on bad data (running out of
 * memory still does).
 */
export function parseJson(data: Uint8Array, maxDepth: i32 = JSON_MAX_DEPTH, maxStringBytes: i32 = JSON_MAX_STRING_BYTES): JsonResult {
  const p = new Parser(data, maxDepth, maxStringBytes);
  p.skipBom();
  p.ws();
  let v: JsonValue | null = null;
  if (p.pos >= p.end) p.fail("no JSON value (the data is empty or only whitespace)");
  else v = p.value(0);
  if (v !== null) {
    p.ws();
    if (p.pos < p.end) {
      p.fail("unexpected " + p.found() + " after the JSON value");
      v = null;
    }
  }
  return v !== null ? new JsonResult(v, null) : new JsonResult(null, p.error(data));
}

/** {@link parseJson} on a string (encoded to UTF-8 first). */
export function parseJsonString(text: string, maxDepth: i32 = JSON_MAX_DEPTH, maxStringBytes: i32 = JSON_MAX_STRING_BYTES): JsonResult {
  return parseJson(Uint8Array.wrap(String.UTF8.encode(text)), maxDepth, maxStringBytes);
}

// UTF-16 code units of the string being read; grown as needed, kept for the next string.
let scratch: ArrayBuffer = new ArrayBuffer(256);

// Member names repeat from object to object ("password", "roles"...): one string each, found by
// their bytes, instead of one per occurrence. ASCII names only (compared unit by unit).
const NAME_CACHE: i32 = 64;
const NAME_CACHE_MAX_BYTES: i32 = 32;
const nameStrings = new StaticArray<string | null>(NAME_CACHE);

// Empty containers share these (values are never modified).
const NO_VALUES = new StaticArray<JsonValue>(0);
const NO_NAMES = new StaticArray<string>(0);

class Parser {
  // Items and member names of the containers being read, innermost last: reused, so a
  // container costs its exact-size arrays and nothing per item.
  values: JsonValue[] = [];
  keys: string[] = [];
  data: Uint8Array;
  pos: usize;
  end: usize;
  start: usize;
  maxDepth: i32;
  maxString: i32;
  message: string | null = null;
  at: usize = 0;

  constructor(data: Uint8Array, maxDepth: i32, maxString: i32) {
    this.data = data;
    this.start = data.dataStart;
    this.pos = this.start;
    this.end = this.start + <usize>data.length;
    this.maxDepth = maxDepth;
    this.maxString = maxString;
  }

  // Skips a string at pos (the opening quote) if it has no escapes: its bytes are then the
  // value. Returns the number of bytes (pos after the closing quote); -1 after fail(); -2 when
  // it holds an escape (pos back at the opening quote, for string()).
  plain(): i32 {
    const open = this.pos;
    let p = open + 1;
    const end = this.end;
    while (true) {
      // The common bytes first, in a loop of its own: the metering charges a loop's whole body
      // on every turn, so the rare cases below stay out of it.
      while (p < end) {
        const b = load<u8>(p);
        if (b == 0x22 || b == 0x5c || b < 0x20 || b >= 0x80) break;
        p++;
      }
      if (p >= end) {
        this.pos = open;
        this.fail("unterminated string");
        return -1;
      }
      const c = load<u8>(p);
      if (c == 0x22) break;
      if (c == 0x5c) {
        this.pos = open;
        return -2;
      }
      if (c < 0x20) {
        this.pos = p;
        this.fail("control character U+00" + (c < 16 ? "0" : "") + c.toString(16).toUpperCase() + " in a string (write it as an escape, e.g. \\n)");
        return -1;
      }
      if (c < 0x80) {
        p++;
      } else {
        this.pos = p;
        if (this.utf8() == 0xffffffff) return -1;
        p = this.pos;
      }
    }
    const n = <i32>(p - open - 1);
    if (n > this.maxString) {
      this.pos = open;
      this.fail("string longer than " + this.maxString.toString() + " bytes");
      return -1;
    }
    this.pos = p + 1;
    return n;
  }

  stringValue(): JsonValue | null {
    const open = this.pos;
    const n = this.plain();
    if (n == -1) return null;
    if (n >= 0) return JsonValue.slice(this.data, <i32>(open + 1 - this.start), n);
    const s = this.string();
    return s === null ? null : JsonValue.ofString(s);
  }

  memberName(): string | null {
    const open = this.pos;
    const n = this.plain();
    if (n == -1) return null;
    if (n == -2) return this.string();
    const p = open + 1;
    if (n > NAME_CACHE_MAX_BYTES) return String.UTF8.decodeUnsafe(p, <usize>n);
    let h: u32 = 0x811c9dc5;
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u8>(p + <usize>i);
      if (c >= 0x80) return String.UTF8.decodeUnsafe(p, <usize>n);
      h = (h ^ c) * 0x01000193;
    }
    const slot = <i32>(h & <u32>(NAME_CACHE - 1));
    const known = unchecked(nameStrings[slot]);
    if (known !== null && known.length == n) {
      let same = true;
      for (let i = 0; i < n && same; i++) same = <u32>load<u16>(changetype<usize>(known) + (<usize>i << 1)) == <u32>load<u8>(p + <usize>i);
      if (same) return known;
    }
    const s = String.UTF8.decodeUnsafe(p, <usize>n);
    unchecked((nameStrings[slot] = s));
    return s;
  }

  // Records the first error (at the current position); null so callers can `return this.fail()`.
  fail(message: string): JsonValue | null {
    if (this.message === null) {
      this.message = message;
      this.at = this.pos;
    }
    return null;
  }

  error(data: Uint8Array): JsonError {
    const off = <i32>(this.at - this.start);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < off; i++) {
      if (unchecked(data[i]) == 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    return new JsonError(this.message !== null ? this.message! : "invalid JSON", off, line, off - lineStart + 1);
  }

  // The byte at pos for a message: 'x' when printable ASCII, else its value.
  found(): string {
    if (this.pos >= this.end) return "end of data";
    const c = <i32>load<u8>(this.pos);
    if (c > 0x20 && c < 0x7f) return "'" + String.fromCharCode(c) + "'";
    return "byte 0x" + (c < 16 ? "0" : "") + c.toString(16).toUpperCase();
  }

  skipBom(): void {
    if (this.end - this.pos >= 3 && load<u8>(this.pos) == 0xef && load<u8>(this.pos + 1) == 0xbb && load<u8>(this.pos + 2) == 0xbf) this.pos += 3;
  }

  ws(): void {
    let p = this.pos;
    const end = this.end;
    while (p < end) {
      const c = load<u8>(p);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      p++;
    }
    this.pos = p;
  }

  value(depth: i32): JsonValue | null {
    if (this.pos >= this.end) return this.fail("unexpected end of data: expected a value");
    const c = load<u8>(this.pos);
    if (c == 0x7b) return this.object(depth + 1);
    if (c == 0x5b) return this.array(depth + 1);
    if (c == 0x22) {
      return this.stringValue();
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.literal("true")) return JsonValue.ofBool(true);
    if (this.literal("false")) return JsonValue.ofBool(false);
    if (this.literal("null")) return JsonValue.ofNull();
    return this.fail("expected a value (object, array, string, number, true, false or null), found " + this.found());
  }

  literal(word: string): bool {
    const n = <usize>word.length;
    if (this.end - this.pos < n) return false;
    for (let i: usize = 0; i < n; i++) if (<i32>load<u8>(this.pos + i) != word.charCodeAt(<i32>i)) return false;
    this.pos += n;
    return true;
  }

  array(depth: i32): JsonValue | null {
    if (depth > this.maxDepth) return this.fail("nesting deeper than " + this.maxDepth.toString() + " levels");
    this.pos++;
    const base = this.values.length;
    this.ws();
    if (this.pos < this.end && load<u8>(this.pos) == 0x5d) {
      this.pos++;
      return JsonValue.container(JsonKind.Array, NO_VALUES, null, null);
    }
    while (true) {
      const v = this.value(depth);
      if (v === null) return null;
      this.values.push(v);
      this.ws();
      if (this.pos >= this.end) return this.fail("unexpected end of data: expected ',' or ']' after an array item");
      const c = load<u8>(this.pos);
      if (c == 0x5d) {
        this.pos++;
        return JsonValue.container(JsonKind.Array, this.take(base), null, null);
      }
      if (c != 0x2c) return this.fail("expected ',' or ']' after an array item, found " + this.found());
      this.pos++;
      this.ws();
      if (this.pos < this.end && load<u8>(this.pos) == 0x5d) return this.fail("trailing ',' before ']'");
    }
  }

  // The values pushed since `base`, moved into an exact-size array.
  take(base: i32): StaticArray<JsonValue> {
    const values = this.values;
    const n = values.length - base;
    const out = new StaticArray<JsonValue>(n);
    for (let i = 0; i < n; i++) unchecked((out[i] = values[base + i]));
    values.length = base;
    return out;
  }

  object(depth: i32): JsonValue | null {
    if (depth > this.maxDepth) return this.fail("nesting deeper than " + this.maxDepth.toString() + " levels");
    this.pos++;
    const base = this.keys.length;
    let index: Map<string, i32> | null = null;
    this.ws();
    if (this.pos < this.end && load<u8>(this.pos) == 0x7d) {
      this.pos++;
      return JsonValue.container(JsonKind.Object, NO_VALUES, NO_NAMES, null);
    }
    while (true) {
      if (this.pos >= this.end) return this.fail("unexpected end of data: expected a member name");
      if (load<u8>(this.pos) != 0x22) {
        if (load<u8>(this.pos) == 0x7d) return this.fail("trailing ',' before '}'");
        return this.fail("expected a member name in double quotes, found " + this.found());
      }
      const nameAt = this.pos;
      const name = this.memberName();
      if (name === null) return null;
      // A repeated name: tools disagree on which one counts, so it is refused.
      const count = this.keys.length - base;
      let seen = false;
      if (index !== null) seen = index.has(name);
      else for (let i = base; i < this.keys.length; i++) if (unchecked(this.keys[i]) == name) seen = true;
      if (seen) {
        this.pos = nameAt;
        return this.fail("member name \"" + name + "\" repeated in one object");
      }
      if (index === null && count >= INDEX_FROM) {
        index = new Map<string, i32>();
        for (let i = 0; i < count; i++) index.set(unchecked(this.keys[base + i]), i);
      }
      if (index !== null) index.set(name, count);
      this.keys.push(name);
      this.ws();
      if (this.pos >= this.end || load<u8>(this.pos) != 0x3a) return this.fail("expected ':' after member name \"" + name + "\", found " + this.found());
      this.pos++;
      this.ws();
      const v = this.value(depth);
      if (v === null) return null;
      this.values.push(v);
      this.ws();
      if (this.pos >= this.end) return this.fail("unexpected end of data: expected ',' or '}' after an object member");
      const c = load<u8>(this.pos);
      if (c == 0x7d) {
        this.pos++;
        const keys = this.keys;
        const n = keys.length - base;
        const names = new StaticArray<string>(n);
        for (let i = 0; i < n; i++) unchecked((names[i] = keys[base + i]));
        keys.length = base;
        return JsonValue.container(JsonKind.Object, this.take(this.values.length - n), names, index);
      }
      if (c != 0x2c) return this.fail("expected ',' or '}' after an object member, found " + this.found());
      this.pos++;
      this.ws();
    }
  }

  number(): JsonValue | null {
    const from = this.pos;
    if (load<u8>(this.pos) == 0x2d) this.pos++;
    if (this.pos >= this.end || !isDigit(load<u8>(this.pos))) return this.fail("invalid number: expected a digit after '-'");
    if (load<u8>(this.pos) == 0x30) {
      this.pos++;
      if (this.pos < this.end && isDigit(load<u8>(this.pos))) return this.fail("invalid number: no leading zeros");
    } else {
      while (this.pos < this.end && isDigit(load<u8>(this.pos))) this.pos++;
    }
    if (this.pos < this.end && load<u8>(this.pos) == 0x2e) {
      this.pos++;
      if (this.pos >= this.end || !isDigit(load<u8>(this.pos))) return this.fail("invalid number: expected a digit after '.'");
      while (this.pos < this.end && isDigit(load<u8>(this.pos))) this.pos++;
    }
    if (this.pos < this.end && (load<u8>(this.pos) | 0x20) == 0x65) {
      this.pos++;
      if (this.pos < this.end && (load<u8>(this.pos) == 0x2b || load<u8>(this.pos) == 0x2d)) this.pos++;
      if (this.pos >= this.end || !isDigit(load<u8>(this.pos))) return this.fail("invalid number: expected a digit in the exponent");
      while (this.pos < this.end && isDigit(load<u8>(this.pos))) this.pos++;
    }
    // Integers of up to 15 digits are exact in an f64: computed here, not by parseFloat.
    const digits = <i32>(this.pos - from) - (load<u8>(from) == 0x2d ? 1 : 0);
    if (digits <= 15) {
      let v: i64 = 0;
      let q = from + (load<u8>(from) == 0x2d ? 1 : 0);
      while (q < this.pos && isDigit(load<u8>(q))) {
        v = v * 10 + <i64>(load<u8>(q) - 0x30);
        q++;
      }
      if (q == this.pos) return JsonValue.ofNumber(load<u8>(from) == 0x2d ? (v == 0 ? -0.0 : <f64>-v) : <f64>v);
    }
    const n = F64.parseFloat(String.UTF8.decodeUnsafe(from, this.pos - from));
    if (!isFinite(n)) {
      this.pos = from;
      return this.fail("number out of range");
    }
    return JsonValue.ofNumber(n);
  }

  // A string at pos (the opening quote), decoded; null after fail().
  string(): string | null {
    const open = this.pos;
    this.pos++;
    let units = 0; // UTF-16 code units written to scratch
    let bytes = 0; // UTF-8 bytes of the decoded string, for maxString
    while (true) {
      if (this.pos >= this.end) {
        this.pos = open;
        this.fail("unterminated string");
        return null;
      }
      // Room for the two units the longest step writes.
      if (<usize>(units + 2) << 1 > <usize>scratch.byteLength) {
        const bigger = new ArrayBuffer(scratch.byteLength * 2);
        memory.copy(changetype<usize>(bigger), changetype<usize>(scratch), <usize>units << 1);
        scratch = bigger;
      }
      const out = changetype<usize>(scratch) + (<usize>units << 1);
      const c = <u32>load<u8>(this.pos);
      let cp: u32;
      if (c == 0x22) {
        this.pos++;
        return String.UTF16.decodeUnsafe(changetype<usize>(scratch), <usize>units << 1);
      } else if (c == 0x5c) {
        cp = this.escape();
        if (cp == 0xffffffff) return null;
      } else if (c < 0x20) {
        this.fail("control character U+00" + (c < 16 ? "0" : "") + c.toString(16).toUpperCase() + " in a string (write it as an escape, e.g. \\n)");
        return null;
      } else if (c < 0x80) {
        cp = c;
        this.pos++;
      } else {
        cp = this.utf8();
        if (cp == 0xffffffff) return null;
      }
      bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes > this.maxString) {
        this.pos = open;
        this.fail("string longer than " + this.maxString.toString() + " bytes");
        return null;
      }
      if (cp < 0x10000) {
        store<u16>(out, <u16>cp);
        units++;
      } else {
        cp -= 0x10000;
        store<u16>(out, <u16>(0xd800 | (cp >> 10)));
        store<u16>(out + 2, <u16>(0xdc00 | (cp & 0x3ff)));
        units += 2;
      }
    }
  }

  // One UTF-8 sequence at pos (lead byte >= 0x80), strictly: no overlong forms, no surrogates,
  // nothing above U+10FFFF. The code point, or 0xffffffff after fail().
  utf8(): u32 {
    const c = <u32>load<u8>(this.pos);
    let n: i32;
    let cp: u32;
    let min: u32;
    if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; min = 0x10000; }
    else {
      this.fail("invalid UTF-8 in a string (byte 0x" + c.toString(16).toUpperCase() + ")");
      return 0xffffffff;
    }
    if (this.end - this.pos <= <usize>n) {
      this.fail("invalid UTF-8 in a string (a sequence cut short by the end of data)");
      return 0xffffffff;
    }
    for (let i = 1; i <= n; i++) {
      const b = <u32>load<u8>(this.pos + <usize>i);
      if ((b & 0xc0) != 0x80) {
        this.fail("invalid UTF-8 in a string (byte 0x" + c.toString(16).toUpperCase() + " not followed by a continuation byte)");
        return 0xffffffff;
      }
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      this.fail("invalid UTF-8 in a string (an overlong form, a surrogate or a code point above U+10FFFF)");
      return 0xffffffff;
    }
    this.pos += <usize>(n + 1);
    return cp;
  }

  // An escape at pos (the backslash). The code point, or 0xffffffff after fail().
  escape(): u32 {
    if (this.end - this.pos < 2) {
      this.fail("unterminated string");
      return 0xffffffff;
    }
    const e = <u32>load<u8>(this.pos + 1);
    let cp: u32 = 0xffffffff;
    switch (e) {
      case 0x22: cp = 0x22; break;
      case 0x5c: cp = 0x5c; break;
      case 0x2f: cp = 0x2f; break;
      case 0x62: cp = 0x08; break;
      case 0x66: cp = 0x0c; break;
      case 0x6e: cp = 0x0a; break;
      case 0x72: cp = 0x0d; break;
      case 0x74: cp = 0x09; break;
      case 0x75: {
        const hi = this.hex4(this.pos + 2);
        if (hi < 0) break;
        if (hi >= 0xdc00 && hi <= 0xdfff) {
          this.fail("unpaired surrogate \\u" + hi.toString(16).toUpperCase() + " in a string");
          return 0xffffffff;
        }
        if (hi >= 0xd800 && hi <= 0xdbff) {
          const lo = this.end - this.pos >= 12 && load<u8>(this.pos + 6) == 0x5c && load<u8>(this.pos + 7) == 0x75 ? this.hex4(this.pos + 8) : -1;
          if (lo < 0xdc00 || lo > 0xdfff) {
            this.fail("unpaired surrogate \\u" + hi.toString(16).toUpperCase() + " in a string");
            return 0xffffffff;
          }
          this.pos += 12;
          return 0x10000 + ((<u32>hi - 0xd800) << 10) + (<u32>lo - 0xdc00);
        }
        this.pos += 6;
        return <u32>hi;
      }
    }
    if (cp == 0xffffffff) {
      if (e == 0x75) this.fail("invalid \\u escape: expected 4 hexadecimal digits");
      else {
        this.pos++;
        this.fail("invalid escape: '\\' followed by " + this.found() + " (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
      }
      return 0xffffffff;
    }
    this.pos += 2;
    return cp;
  }

  // Four hex digits at p as a number, -1 when they are not.
  hex4(p: usize): i32 {
    if (p > this.end || this.end - p < 4) return -1;
    let v = 0;
    for (let i: usize = 0; i < 4; i++) {
      const c = <i32>load<u8>(p + i);
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) d = (c | 0x20) - 0x61 + 10;
      else return -1;
      v = (v << 4) | d;
    }
    return v;
  }
}

// @ts-ignore: decorator
@inline
function isDigit(c: u8): bool {
  return c >= 0x30 && c <= 0x39;
}
