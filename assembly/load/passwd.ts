// mosquitto's password_file (as written by mosquitto_passwd): one `username:hash` per line, where
// hash is `$6$salt$hash` (SHA-512) or `$7$iterations$salt$hash` (PBKDF2-SHA512), base64 parts.
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
// back for the host, which verifies it natively.
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

/** A decoded hash. The salt's bytes follow the record, then the hash's. */
@unmanaged
class HashRecord {
  /** 6 (`$6$`, SHA-512) or 7 (`$7$`, PBKDF2-SHA512). */
  kind: u8;
  /** Bytes of the hash (SHA-512 gives 64; longer is refused when parsing). */
  hashLen: u8;
  /** Bytes of the salt. */
  saltLen: u16;
  /** PBKDF2 iterations (`$7$` only). */
  iterations: u32;
}
const HASH_SALT: usize = offsetof<HashRecord>();

// The text of a hash being checked: "$7$" + 10 digits + "$" + salt + "$" + hash, base64.
const TEXT_BYTES: i32 = 16 + ((0xffff + 2) / 3) * 4 + ((0xff + 2) / 3) * 4;
let text: StaticArray<u8> | null = null;

/**
 * Decodes the hash text `[from, to)` at `base` into a new HashRecord (allocRecord); returns its
 * address, or 0 when the text is not a `$6$` or `$7$` hash.
 */
function decodeHash(base: usize, from: i32, to: i32): usize {
  if (to - from < 5) return 0;
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

  /** True when `username` is listed and `password` matches its hash. */
  /** The user has a line in password_file (for a denial's reason: off the hot path). */
  has(username: Str): bool {
    const user = this.users.lookup(username);
    return user !== null && user.hash != 0;
  }

  verify(username: Str, password: Str | null): bool {
    const user = this.users.lookup(username);
    if (user === null || user.hash == 0) return false;
    let buf = text;
    if (buf === null) text = buf = new StaticArray<u8>(TEXT_BYTES);
    const p = changetype<usize>(buf);
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
  return failText(base, "password of user \"", s, ne, "\" is not a $6$ or $7$ mosquitto_passwd hash");
}
