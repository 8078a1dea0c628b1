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
import { LineReader, Lines, isSpace } from "./lines";
import { Pages } from "./pages";
import { Users } from "./users";
import { ParseError } from "./acl";
import { Str, base64Decode, base64DecodedLength, base64Encode, verifyPasswordAt } from "../sdk/assembly";
import { COLON, DOLLAR } from "../sdk/assembly/utf8";

const DIGIT_0: u32 = 0x30;
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
 * Decodes the hash text `[from, to)` of the current line into a new HashRecord in `pages`;
 * returns its address, or 0 when the text is not a `$6$` or `$7$` hash.
 */
function decodeHash(r: Lines, from: i32, to: i32, pages: Pages): usize {
  if (to - from < 5 || r.at(from) != DOLLAR || r.at(from + 2) != DOLLAR) return 0;
  const kind = r.at(from + 1) - DIGIT_0;
  if (kind != KIND_SHA512 && kind != KIND_PBKDF2) return 0;
  let p = from + 3;
  let iterations: u64 = 0;
  if (kind == KIND_PBKDF2) {
    const digits = p;
    while (p < to && r.at(p) != DOLLAR) {
      const d = r.at(p) - DIGIT_0;
      if (d > 9 || p - digits >= 9) return 0;
      iterations = iterations * 10 + <u64>d;
      p++;
    }
    if (p == digits || p == to) return 0;
    p++;
  }
  const salt = p;
  while (p < to && r.at(p) != DOLLAR) p++;
  if (p == to) return 0;
  const saltEnd = p++;
  const saltLen = base64DecodedLength(r.base + <usize>salt, saltEnd - salt);
  const hashLen = base64DecodedLength(r.base + <usize>p, to - p);
  if (saltLen <= 0 || saltLen > 0xffff || hashLen <= 0 || hashLen > 0xff) return 0;
  const rec = pages.alloc(<i32>HASH_SALT + saltLen + hashLen);
  const h = changetype<HashRecord>(rec);
  h.kind = <u8>kind;
  h.hashLen = <u8>hashLen;
  h.saltLen = <u16>saltLen;
  h.iterations = <u32>iterations;
  base64Decode(r.base + <usize>salt, saltEnd - salt, rec + HASH_SALT);
  base64Decode(r.base + <usize>p, to - p, rec + HASH_SALT + <usize>saltLen);
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

/** The parsed password file. Lookups and checks never allocate a table. */
export class Passwords {
  /** Set when parsing failed. */
  error: ParseError | null = null;
  /** Number of users. */
  count: i32 = 0;
  private hashes: Pages = new Pages();

  constructor(private users: Users) {}

  /** Guest memory the decoded hashes take. */
  get bytes(): usize {
    return this.hashes.reserved;
  }

  /** Parses a password file held in memory (into `users`, or a table of its own). Check `error` afterwards. */
  static parse(data: Uint8Array, users: Users | null = null): Passwords {
    return Passwords.read(new LineReader(data), users !== null ? users : new Users());
  }

  /** Parses a password file's lines into `users`. Check `error` afterwards. */
  static read(lines: Lines, users: Users): Passwords {
    const pw = new Passwords(users);
    pw.build(lines);
    if (pw.error === null && lines.error !== null) pw.error = new ParseError(lines.lineNo, lines.error!);
    return pw;
  }

  private build(r: Lines): void {
    while (r.next()) {
      if (r.end > r.start && r.at(r.start) == 0x23 /* # */) continue;
      r.trimEnd();
      let s = r.start;
      while (s < r.end && isSpace(r.at(s))) s++;
      if (s == r.end) continue;
      // One pass finds the first ':', and any second ':' or NUL byte.
      let colon = -1;
      let bad = false;
      for (let i = s; i < r.end; i++) {
        const c = r.at(i);
        if (c == COLON) {
          if (colon >= 0) bad = true;
          else colon = i;
        } else if (c == 0) {
          this.error = new ParseError(r.lineNo, "NUL byte in line");
          return;
        }
      }
      if (colon < 0) {
        this.error = new ParseError(r.lineNo, "expected username:hash");
        return;
      }
      let ne = colon;
      while (ne > s && isSpace(r.at(ne - 1))) ne--;
      if (ne == s) {
        this.error = new ParseError(r.lineNo, "empty username");
        return;
      }
      if (bad) {
        this.error = new ParseError(r.lineNo, "more than one ':'");
        return;
      }
      let hs = colon + 1;
      while (hs < r.end && isSpace(r.at(hs))) hs++;
      const hash = decodeHash(r, hs, r.end, this.hashes);
      if (hash == 0) {
        this.error = new ParseError(r.lineNo, "password of user \"" + r.text(s, ne) + "\" is not a $6$ or $7$ mosquitto_passwd hash");
        return;
      }
      const user = this.users.findOrAdd(r.base + <usize>s, ne - s);
      if (user.hash != 0) {
        this.error = new ParseError(r.lineNo, "user \"" + r.text(s, ne) + "\" is listed twice");
        return;
      }
      user.hash = hash;
      this.count++;
    }
  }

  /** True when `username` is listed and `password` matches its hash. */
  verify(username: Str, password: Str | null): bool {
    const user = this.users.lookup(username);
    if (user === null || user.hash == 0) return false;
    let buf = text;
    if (buf === null) text = buf = new StaticArray<u8>(TEXT_BYTES);
    const p = changetype<usize>(buf);
    return verifyPasswordAt(p, encodeHash(user.hash, p), password);
  }
}
