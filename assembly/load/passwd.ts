// mosquitto's password_file (as written by mosquitto_passwd): one `username:hash` per line, where
// hash is `$6$salt$hash` (SHA-512), `$7$iterations$salt$hash` (PBKDF2-SHA512) or
// `$argon2id$v=19$m=KIB,t=PASSES,p=LANES$salt$hash` (mosquitto_passwd 2.1 -H argon2id), base64 parts.
// Lines whose first byte is `#` are comments (so a user named "#..." cannot exist, as in
// mosquitto); blank lines are skipped; blanks around the name and the hash are trimmed.
//
// Stricter than mosquitto 2.0.11, which skips lines without ":" and drops users whose hash it
// cannot decode with only a log line: here any such line, an empty name, a second ":" or a
// repeated user makes the whole file invalid, so a typo cannot silently lock a user out or
// leave an old entry in force.
//
// Hashes are kept decoded (HashRecord): 80 bytes for a mosquitto_passwd `$7$` hash, whose text
// takes 115, so that 100k users fit the default 16 MiB of guest memory. A check writes the text
// back for the host, which verifies it natively. `$argon2id$` hashes are checked here as the host
// parses them (plugin-c/runtime/pwhash.c: version 19, m >= 8 p, salt of 8 bytes or more, hash
// of 4 to 64) and kept as text: a verification costs the host tens of milliseconds, against
// which re-encoding saves nothing, and the cost caps are the host's to apply.
import { LineReader, Lines, everyByte, findByteOrNul, isSpace } from "../../sdk/assembly/lines";
import { allocRecord } from "./pages";
import { Users, findOrAddUser } from "./users";
import { ParseError, fail, failText, readLines } from "./parse";
import { Str, base64Decode, base64DecodedLength, base64Encode, verifyPasswordAt } from "../../sdk/assembly";
import { COLON, DOLLAR, HASH } from "../../sdk/assembly/utf8";

const DIGIT_0: u32 = 0x30;
const COLONS: u64 = everyByte(COLON);
const DOLLARS: u64 = everyByte(DOLLAR);
const NUL_LINE = "NUL byte in line";
const KIND_SHA512: u8 = 6;
const KIND_PBKDF2: u8 = 7;
const KIND_ARGON2ID: u8 = 2; // kept as text
const ARGON2ID_PREFIX = "$argon2id$v=19$m=";
const COMMA: u32 = 0x2c;
const ARGON2_MIN_SALT: i32 = 8;
const ARGON2_MIN_HASH: i32 = 4;
const ARGON2_MAX_HASH: i32 = 64;

/** A decoded hash. The salt's bytes follow the record, then the hash's. */
@unmanaged
class HashRecord {
  /** 6 (`$6$`, SHA-512), 7 (`$7$`, PBKDF2-SHA512) or KIND_ARGON2ID (its text follows the record). */
  kind: u8;
  /** Bytes of the hash (SHA-512 gives 64; longer is refused when parsing). */
  hashLen: u8;
  /** Bytes of the salt. */
  saltLen: u16;
  /** PBKDF2 iterations (`$7$`), or the text's length (`$argon2id$`). */
  iterations: u32;
}
const HASH_SALT: usize = offsetof<HashRecord>();

// The text of a hash being checked: "$7$" + 10 digits + "$" + salt + "$" + hash, base64.
const TEXT_BYTES: i32 = 16 + ((0xffff + 2) / 3) * 4 + ((0xff + 2) / 3) * 4;
let text: StaticArray<u8> | null = null;

function scratch(): usize {
  let buf = text;
  if (buf === null) text = buf = new StaticArray<u8>(TEXT_BYTES);
  return changetype<usize>(buf);
}

// 1..999999999 as decimal digits at `p`, ended by `end` (the byte after them); -1 otherwise.
function argon2Number(base: usize, p: i32, to: i32, end: u32): i64 {
  let v: i64 = 0;
  const digits = p;
  while (p < to) {
    const c = <u32>load<u8>(base + <usize>p);
    if (c == end) return p - digits >= 1 && v >= 1 ? (<i64>p << 32) | v : -1;
    const d = c - DIGIT_0;
    if (d > 9 || p - digits == 9) return -1;
    v = v * 10 + <i64>d;
    p++;
  }
  return -1;
}

// Base64 `[p, p + n)` decodes to a byte count in [min, max]: decoded into the scratch buffer.
function base64Fits(base: usize, p: i32, n: i32, min: i32, max: i32): bool {
  const len = base64DecodedLength(base + <usize>p, n);
  return len >= min && len <= max && base64Decode(base + <usize>p, n, scratch()) == len;
}

/** `$argon2id$` text `[from, to)` checked and copied into a new HashRecord; 0 when malformed. */
function keepArgon2(base: usize, from: i32, to: i32): usize {
  const len = to - from;
  if (len > TEXT_BYTES) return 0;
  // Each number packs "index of the byte after it" << 32 | value.
  const m = argon2Number(base, from + ARGON2ID_PREFIX.length, to, COMMA);
  if (m < 0 || to - <i32>(m >> 32) < 3 || load<u16>(base + <usize>(m >> 32) + 1) != 0x3d74) return 0; // ",t="
  const t = argon2Number(base, <i32>(m >> 32) + 3, to, COMMA);
  if (t < 0 || to - <i32>(t >> 32) < 3 || load<u16>(base + <usize>(t >> 32) + 1) != 0x3d70) return 0; // ",p="
  const p = argon2Number(base, <i32>(t >> 32) + 3, to, DOLLAR);
  if (p < 0 || (p & 0xffffffff) > 0xffffff || (m & 0xffffffff) < 8 * (p & 0xffffffff)) return 0;
  const salt = <i32>(p >> 32) + 1;
  const saltChars = findByteOrNul(base + <usize>salt, to - salt, DOLLARS);
  if (salt + saltChars == to || <u32>load<u8>(base + <usize>(salt + saltChars)) != DOLLAR) return 0;
  const hash = salt + saltChars + 1;
  if (!base64Fits(base, salt, saltChars, ARGON2_MIN_SALT, 0xffff)) return 0;
  if (!base64Fits(base, hash, to - hash, ARGON2_MIN_HASH, ARGON2_MAX_HASH)) return 0;
  const rec = allocRecord(<i32>HASH_SALT + len);
  memory.copy(rec + HASH_SALT, base + <usize>from, <usize>len);
  const h = changetype<HashRecord>(rec);
  h.kind = KIND_ARGON2ID;
  h.iterations = <u32>len;
  return rec;
}

// The text `[from, to)` begins with s (ASCII).
function startsWith(base: usize, from: i32, to: i32, s: string): bool {
  if (to - from < s.length) return false;
  for (let i = 0; i < s.length; i++) {
    if (<u32>load<u8>(base + <usize>(from + i)) != <u32>s.charCodeAt(i)) return false;
  }
  return true;
}

// Through a function variable (call_indirect): not inlined into the per-line parse (pages.ts).
let keepArgon2Cold: (base: usize, from: i32, to: i32) => usize = keepArgon2;

/**
 * Decodes the hash text `[from, to)` at `base` into a new HashRecord (allocRecord); returns its
 * address, or 0 when the text is not a `$6$`, `$7$` or `$argon2id$` hash.
 */
function decodeHash(base: usize, from: i32, to: i32): usize {
  if (to - from < 5) return 0;
  if (load<u8>(base + <usize>from + 1) == 0x61) {
    return startsWith(base, from, to, ARGON2ID_PREFIX) ? keepArgon2Cold(base, from, to) : 0; // "$a"
  }
  const head = load<u32>(base + <usize>from) & 0xffffff; // "$7$"
  const kind = ((head >> 8) & 0xff) - DIGIT_0;
  if ((head & 0xff00ff) != (DOLLAR | (DOLLAR << 16)) || (kind != KIND_SHA512 && kind != KIND_PBKDF2)) return 0;
  let p = from + 3;
  let iterations: u32 = 0;
  if (kind == KIND_PBKDF2) {
    const digits = p;
    let d = <u32>load<u8>(base + <usize>p) - DIGIT_0;
    while (d <= 9) {
      if (p - digits == 9) return 0;
      iterations = iterations * 10 + d;
      d = <u32>load<u8>(base + <usize>++p) - DIGIT_0;
    }
    if (p == digits || p == to || <u32>load<u8>(base + <usize>p) != DOLLAR) return 0;
    p++;
  }
  const salt = base + <usize>p;
  const saltChars = findByteOrNul(salt, to - p, DOLLARS);
  if (p + saltChars == to || <u32>load<u8>(salt + <usize>saltChars) != DOLLAR) return 0;
  const hash = salt + <usize>saltChars + 1;
  const hashChars = to - (p + saltChars + 1);
  const saltLen = base64DecodedLength(salt, saltChars);
  const hashLen = base64DecodedLength(hash, hashChars);
  if (saltLen <= 0 || saltLen > 0xffff || hashLen <= 0 || hashLen > 0xff) return 0;
  const rec = allocRecord(<i32>HASH_SALT + saltLen + hashLen);
  if (base64Decode(salt, saltChars, rec + HASH_SALT) < 0) return 0;
  if (base64Decode(hash, hashChars, rec + HASH_SALT + <usize>saltLen) < 0) return 0;
  const h = changetype<HashRecord>(rec);
  h.kind = <u8>kind;
  h.hashLen = <u8>hashLen;
  h.saltLen = <u16>saltLen;
  h.iterations = iterations;
  return rec;
}

// Writes the text of `rec` as mosquitto_passwd does; returns its length.
function encodeHash(rec: usize, out: usize): i32 {
  const h = changetype<HashRecord>(rec);
  if (h.kind == KIND_ARGON2ID) {
    memory.copy(out, rec + HASH_SALT, <usize>h.iterations);
    return <i32>h.iterations;
  }
  let o = out;
  store<u8>(o++, <u8>DOLLAR);
  store<u8>(o++, <u8>(DIGIT_0 + <u32>h.kind));
  store<u8>(o++, <u8>DOLLAR);
  if (h.kind == KIND_PBKDF2) {
    const digits = h.iterations.toString(); // allocates: a check pays far more for the hashing
    for (let i = 0; i < digits.length; i++) store<u8>(o++, <u8>digits.charCodeAt(i));
    store<u8>(o++, <u8>DOLLAR);
  }
  const salt = rec + HASH_SALT;
  o += <usize>base64Encode(salt, h.saltLen, o);
  store<u8>(o++, <u8>DOLLAR);
  o += <usize>base64Encode(salt + <usize>h.saltLen, h.hashLen, o);
  return <i32>(o - out);
}

// Users the file being parsed has added (the parse runs on plain values and globals: pages.ts).
let added: i32 = 0;

/** The parsed password file. Lookups and checks never allocate a table. */
export class Passwords {
  /** Set when parsing failed. */
  error: ParseError | null = null;
  /** Number of users. */
  count: i32 = 0;

  constructor(private users: Users) {}

  /** Parses a password file held in memory (into `users`, or a table of its own). Check `error` afterwards. */
  static parse(data: Uint8Array, users: Users | null = null): Passwords {
    return Passwords.read(new LineReader(data), users !== null ? users : new Users());
  }

  /** Parses a password file's lines into `users`. Check `error` afterwards. */
  static read(lines: Lines, users: Users): Passwords {
    const pw = new Passwords(users);
    added = 0;
    users.begin();
    pw.error = readLines(lines, passwordLine);
    users.end();
    pw.count = added;
    return pw;
  }

  /** True when `username` has a line in password_file (session_check, a denial's reason: off the hot path). */
  has(username: Str): bool {
    const user = this.users.lookup(username);
    return user !== null && user.hash != 0;
  }

  /** True when `username` is listed and `password` matches its hash. */
  verify(username: Str, password: Str | null): bool {
    const user = this.users.lookup(username);
    if (user === null || user.hash == 0) return false;
    const p = scratch();
    return verifyPasswordAt(p, encodeHash(user.hash, p), password);
  }
}

// One line `[s, e)`; false (parse.ts fail() called) when it is invalid. Written for a file of 100k users:
// eight bytes per step, the error messages out of line (the fuel metering charges a function's
// whole body on every call).
function passwordLine(base: usize, s: i32, e: i32): bool {
  if (e == s || <u32>load<u8>(base + <usize>s) == HASH) return true;
  while (e > s && isSpace(load<u8>(base + <usize>(e - 1)))) e--;
  while (s < e && isSpace(load<u8>(base + <usize>s))) s++;
  if (s == e) return true;
  const colon = s + findByteOrNul(base + <usize>s, e - s, COLONS);
  if (colon == e || load<u8>(base + <usize>colon) == 0) return fail(colon == e ? "expected username:hash" : NUL_LINE);
  let ne = colon;
  while (ne > s && isSpace(load<u8>(base + <usize>(ne - 1)))) ne--;
  if (ne == s) return fail("empty username");
  let hs = colon + 1;
  while (hs < e && isSpace(load<u8>(base + <usize>hs))) hs++;
  // A NUL byte or a second ':' makes the hash undecodable: looked for only then.
  const hash = decodeHash(base, hs, e);
  if (hash == 0) return badHash(base, s, ne, hs, e);
  const user = findOrAddUser(base + <usize>s, ne - s);
  if (user.hash != 0) return failText(base, "user \"", s, ne, "\" is listed twice");
  user.hash = hash;
  added++;
  return true;
}


// Why the hash `[hs, e)` of user `[s, ne)` could not be decoded.
function badHash(base: usize, s: i32, ne: i32, hs: i32, e: i32): bool {
  const bad = hs + findByteOrNul(base + <usize>hs, e - hs, COLONS);
  if (bad < e) return fail(load<u8>(base + <usize>bad) == 0 ? NUL_LINE : "more than one ':'");
  return failText(base, "password of user \"", s, ne, "\" is not a $6$, $7$ or $argon2id$ mosquitto_passwd hash");
}
