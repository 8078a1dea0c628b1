// mosquitto's password_file (as written by mosquitto_passwd): one `username:hash` per line, where
// hash is `$6$salt$hash` (SHA-512) or `$7$iterations$salt$hash` (PBKDF2-SHA512), base64 parts.
// Lines whose first byte is `#` are comments (so a user named "#..." cannot exist, as in
// mosquitto); blank lines are skipped; blanks around the name and the hash are trimmed.
//
// Stricter than mosquitto 2.0.11, which skips lines without ":" and drops users whose hash it
// cannot decode with only a log line: here any such line, an empty name, a second ":" or a
// repeated user makes the whole file invalid, so a typo cannot silently lock a user out or
// leave an old entry in force.
import { ByteBuf } from "./buf";
import { LineReader, isSpace } from "./lines";
import { NameTable } from "./names";
import { ParseError } from "./acl";
import { PasswordHash, Str } from "../sdk/assembly";
import { COLON, DOLLAR } from "../sdk/assembly/utf8";


// @ts-ignore: decorator
@inline
function isBase64(c: u32): bool {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2b || c == 0x2f || c == 0x3d;
}

/**
 * True when `[from, to)` has the shape of a mosquitto_passwd hash. The host does the real decoding
 * when a password is checked; this catches plain-text passwords and truncated lines at load time.
 */
function hashShape(r: LineReader, from: i32, to: i32): bool {
  // Split on "$": expect "", "6"|"7", [iterations,] salt, hash.
  let fields = 0;
  let fieldStart = from;
  let kind: u32 = 0;
  for (let i = from; i <= to; i++) {
    if (i < to && r.at(i) != DOLLAR) continue;
    const n = i - fieldStart;
    if (fields == 0) {
      if (n != 0) return false;
    } else if (fields == 1) {
      if (n != 1) return false;
      kind = r.at(fieldStart);
      if (kind != 0x36 && kind != 0x37) return false;
    } else if (fields == 2 && kind == 0x37) {
      if (n < 1 || n > 9) return false;
      for (let k = fieldStart; k < i; k++) if (r.at(k) < 0x30 || r.at(k) > 0x39) return false;
    } else {
      if (n < 1) return false;
      for (let k = fieldStart; k < i; k++) if (!isBase64(r.at(k))) return false;
    }
    fields++;
    fieldStart = i + 1;
  }
  return kind == 0x36 ? fields == 4 : fields == 5;
}

/** The parsed password file. Lookups and checks never allocate in the guest. */
export class Passwords {
  /** Set when parsing failed. */
  error: ParseError | null = null;
  private names: NameTable = new NameTable(1);
  private hashes: PasswordHash[] = [];
  private arena: StaticArray<u8> = new StaticArray<u8>(1);

  /** Number of users. */
  get count(): i32 {
    return this.names.count;
  }

  /** Parses a password file's bytes. Check `error` afterwards. */
  static parse(data: Uint8Array): Passwords {
    const pw = new Passwords();
    pw.build(data);
    return pw;
  }

  private build(data: Uint8Array): void {
    const arena = new ByteBuf();
    const r = new LineReader(data);
    while (r.next()) {
      if (r.end > r.start && r.at(r.start) == 0x23 /* # */) continue;
      if (r.hasNul()) {
        this.error = new ParseError(r.lineNo, "NUL byte in line");
        return;
      }
      r.trimEnd();
      let s = r.start;
      while (s < r.end && isSpace(r.at(s))) s++;
      if (s == r.end) continue;
      let colon = s;
      while (colon < r.end && r.at(colon) != COLON) colon++;
      if (colon == r.end) {
        this.error = new ParseError(r.lineNo, "expected username:hash");
        return;
      }
      let ne = colon;
      while (ne > s && isSpace(r.at(ne - 1))) ne--;
      if (ne == s) {
        this.error = new ParseError(r.lineNo, "empty username");
        return;
      }
      let hs = colon + 1;
      while (hs < r.end && isSpace(r.at(hs))) hs++;
      const he = r.end;
      for (let i = hs; i < he; i++) {
        if (r.at(i) == COLON) {
          this.error = new ParseError(r.lineNo, "more than one ':'");
          return;
        }
      }
      if (!hashShape(r, hs, he)) {
        this.error = new ParseError(r.lineNo, "password of user \"" + r.text(s, ne) + "\" is not a $6$ or $7$ mosquitto_passwd hash");
        return;
      }
      if (this.names.find(arena, r.base + <usize>s, ne - s) >= 0) {
        this.error = new ParseError(r.lineNo, "user \"" + r.text(s, ne) + "\" is listed twice");
        return;
      }
      const i = this.names.add(arena, r.base + <usize>s, ne - s);
      this.names.setValue(i, 0, this.hashes.length);
      // The bytes as they are: decoding to a string and encoding back cost a loop each per line.
      this.hashes.push(PasswordHash.fromBytes(r.base + <usize>hs, he - hs));
    }
    this.arena = arena.finish();
    this.names.seal(this.arena);
  }

  /** True when `username` is listed and `password` matches its hash. */
  verify(username: Str, password: Str | null): bool {
    const rec = this.names.lookup(username);
    if (rec == 0) return false;
    return unchecked(this.hashes[load<i32>(rec)]).verify(password);
  }
}
