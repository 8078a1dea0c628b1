// mosquitto's acl_file, parsed the way mosquitto 2.0.11 parses it and enforced the way it
// enforces it (checked line by line against the real broker, see assembly/README.md):
//
//   # comment            only when `#` is the line's first byte
//   topic [read|write|readwrite|deny] TOPIC     access defaults to readwrite
//   user NAME            following `topic` lines belong to NAME (blocks of one name merge);
//                        `topic` lines before the first `user` apply to anonymous clients
//   pattern [access] PATTERN                    for every client, %u/%c substituted
//
// A check (READ or WRITE; mosquitto's acl_file grants every SUBSCRIBE/UNSUBSCRIBE and filters at
// delivery instead) goes: the client's own `topic` rules (its `user` block, or the anonymous
// rules): any matching `deny` denies, else a matching rule with the access bit allows; then, if
// there are patterns, a username or client id containing `+` or `#` is denied outright
// (CVE-2017-7650); then the patterns the same way (those using %u skipped for anonymous
// clients); otherwise deny.
import { ByteBuf, IntBuf } from "./buf";
import { T_CLIENT, T_LIT, T_LIT_HASH, T_USER, compileFilter, validFilter } from "./filter";
import { LineReader, isSpace } from "./lines";
import { NameTable } from "./names";
import { Str } from "../sdk/assembly";

/** Rule access bits as mosquitto stores them: deny is 0. */
const A_DENY: i32 = 0;
const A_READ: i32 = 1;
const A_WRITE: i32 = 2;
/**
 * Bytes per rule record. Everything the hot path (hot.ts) needs about a rule is precomputed here
 * so that a check reads only a few fields of it:
 *
 *   0  u64  key    the first min(len, 8) literal bytes every matching topic starts with
 *   8  u64  mask   keeps those bytes of a topic's first word (0: no literal prefix)
 *  16  i32  flags  access bits (a deny rule has all of them: it applies to every access) |
 *                  F_CLIENT | F_CHECK_USER | F_CHECK_CLIENT | F_DENY | shape << SHAPE_SHIFT |
 *                  the rule's result << RESULT_SHIFT
 *  20  i32  len    length of the filter's leading literal
 *  24  i32  off    its offset in the byte arena (read only for literals longer than 8 bytes)
 *  28  i32  prog   the filter's program index in the code table (S_GENERIC only)
 *
 * A topic whose first word `w` (little-endian, read past its end if shorter) has
 * `(w & mask) != key` cannot match. For literals up to 8 bytes the key test *is* the literal
 * comparison once the topic is known to be at least `len` bytes long.
 */
export const RULE_BYTES: i32 = 32;
/**
 * Flag (S_VALUE_PREFIX): the substituted value is the client id (%c), not the username. In the
 * shape's byte (above its 3 bits), so hot.ts tells %u from %c rules with the shape's byte load.
 */
export const F_CLIENT: i32 = 0x80000;
/**
 * Position of the shape (3 bits) in the flags word: the third byte, which holds nothing else but
 * F_CLIENT, so hot.ts reads the shape with a byte load (flags byte 2 = record byte 18).
 */
export const SHAPE_SHIFT: i32 = 16;
/** The shape's bits, once shifted down. */
export const SHAPE_MASK: i32 = 7;
/** Position of the result (the top bits) in the flags word: what a match of the rule decides. */
export const RESULT_SHIFT: i32 = 24;
/** Result: deny. */
export const R_DENY: i32 = 0;
/** Result: grant. */
export const R_GRANT: i32 = 1;
/**
 * Flag of a grant: a pattern granting by it must check that the username holds no `+` or `#`
 * (CVE-2017-7650, see hot.ts). Not set when a %u value match proves it (hot.ts matches a value
 * only when it holds neither); meaningless for `topic` rules.
 */
export const F_CHECK_USER: i32 = 0x200;
/** The same for the client id (not set for a %c grant). */
export const F_CHECK_CLIENT: i32 = 0x400;
/** Flag of a deny rule (its result is R_DENY): one bit test decides with F_CHECK_USER's. */
export const F_DENY: i32 = 0x800;
/** Shape: any filter; run the program. */
export const S_GENERIC: i32 = 0;
/** Shape: literal text then "/#" (`public/#`). */
export const S_PREFIX: i32 = 1;
/** Shape: literal text only (`a/b`). */
export const S_EXACT: i32 = 2;
/** Shape: literal text, %u or %c, then "/#" (`users/%u/#`). */
export const S_VALUE_PREFIX: i32 = 3;
/** Added to S_PREFIX, S_EXACT or S_VALUE_PREFIX when the literal is longer than 8 bytes. */
export const S_LONG: i32 = 4;

const OWNER_PATTERN: i32 = -2;
const OWNER_ANON: i32 = -1;

/** A parse error: the 1-based line and what is wrong with it. */
export class ParseError {
  constructor(public line: i32, public message: string) {}
}

/** The compiled acl_file. Immutable once built; checks never allocate. */
export class Acl {
  /** Set when parsing failed; the other fields are then meaningless. */
  error: ParseError | null = null;
  /** Warnings to log (e.g. a pattern without %u or %c), as mosquitto logs them. */
  warnings: string[] = [];

  // The tables below are read in place by the hot path (hot.ts), which keeps only their addresses.
  private rules: StaticArray<i32> = new StaticArray<i32>(1);
  private code: StaticArray<i32> = new StaticArray<i32>(1);
  private arena: StaticArray<u8> = new StaticArray<u8>(1);
  /** Rule records (RULE_BYTES each). Each owner's rules are contiguous, deny rules first. */
  rulesPtr: usize = 0;
  /** Filter programs (filter.ts). */
  codePtr: usize = 0;
  /** Literal bytes the programs refer to. */
  arenaPtr: usize = 0;
  /** Per `user` name: [first rule, first allow rule, end] as rule indices. */
  users: NameTable = new NameTable(3);
  /** Rules of anonymous clients: [anonStart, anonEnd). */
  anonStart: i32 = 0;
  /** End of the anonymous rules. */
  anonEnd: i32 = 0;
  /**
   * Pattern rules by the topic's first byte: 256 addresses of lists of copies of rule records
   * (RULE_BYTES each), the pattern rules that can match a topic starting with that byte (in table
   * order: deny rules first), each list ended by a record whose flags are 0. See indexPatterns().
   */
  patByFirstPtr: usize = 0;
  private patByFirst: StaticArray<usize> = new StaticArray<usize>(1);
  private patList: StaticArray<i32> = new StaticArray<i32>(1);
  /** Pattern rules: [patStart, patEnd). */
  patStart: i32 = 0;
  /** End of the pattern rules. */
  patEnd: i32 = 0;

  // Per rule (in `rules` order): [offset in the arena, length] of its filter as written.
  private texts: StaticArray<i32> = new StaticArray<i32>(0);

  /** Address of rule `i`'s filter as written in the file (%u/%c unsubstituted). */
  filterPtr(i: i32): usize {
    return this.arenaPtr + <usize>this.texts[i * 2];
  }

  /** Length of rule `i`'s filter. */
  filterLen(i: i32): i32 {
    return this.texts[i * 2 + 1];
  }

  /** Whether rule `i` is a deny rule. */
  isDeny(i: i32): bool {
    return (this.rules[i * (RULE_BYTES >> 2) + 4] & F_DENY) != 0;
  }

  /** Rule `i`'s access bits (read, write; both for a deny rule). */
  ruleAccess(i: i32): i32 {
    return this.rules[i * (RULE_BYTES >> 2) + 4] & (A_READ | A_WRITE);
  }

  /** The `topic` rules of `username`'s block ([start, end) rule indices), or of anonymous clients (null). */
  ownRules(username: Str | null): StaticArray<i32> {
    const out = new StaticArray<i32>(2);
    if (username === null) {
      out[0] = this.anonStart;
      out[1] = this.anonEnd;
    } else {
      const rec = this.users.lookup(username);
      if (rec != 0) {
        out[0] = load<i32>(rec);
        out[1] = load<i32>(rec, 8);
      }
    }
    return out;
  }

  /** Number of `user` names with at least one rule. */
  userCount: i32 = 0;
  /** Number of `topic` rules (all owners). */
  topicRuleCount: i32 = 0;
  /** Number of `pattern` rules. */
  patternCount: i32 = 0;

  /** Parses an acl_file's bytes. Check `error` afterwards. */
  static parse(data: Uint8Array): Acl {
    const acl = new Acl();
    acl.build(data);
    return acl;
  }

  private fail(line: i32, message: string): void {
    if (this.error === null) this.error = new ParseError(line, message);
  }

  private build(data: Uint8Array): void {
    const arena = new ByteBuf();
    const code = new IntBuf();
    // Raw rules in file order, four i32 each: [owner, access, program, filter text's offset in
    // the arena]; the text's length in rawLen.
    const raw = new IntBuf();
    const rawLen = new IntBuf();
    const r = new LineReader(data);
    let owner = OWNER_ANON;
    while (r.next()) {
      if (r.hasNul()) {
        this.fail(r.lineNo, "NUL byte in line");
        return;
      }
      r.trimEnd();
      if (r.end == r.start || r.at(r.start) == 0x23 /* # */) continue;
      // Tokens are separated by spaces only (strtok with " "): a tab is part of a token.
      let p = r.start;
      while (p < r.end && r.at(p) == 0x20) p++;
      if (p == r.end) continue;
      let q = p;
      while (q < r.end && r.at(q) != 0x20) q++;
      const isTopic = r.equals(p, q, "topic");
      const isPattern = !isTopic && r.equals(p, q, "pattern");
      if (isTopic || isPattern) {
        let a = q;
        while (a < r.end && r.at(a) == 0x20) a++;
        if (a == r.end) {
          this.fail(r.lineNo, "empty topic");
          return;
        }
        let ae = a;
        while (ae < r.end && r.at(ae) != 0x20) ae++;
        let access = A_READ | A_WRITE;
        let ts = a;
        let te = ae;
        if (ae < r.end) {
          // "topic ACCESS TOPIC": the topic is the rest of the line, blanks trimmed; it may hold
          // spaces. With a single word, that word is the topic and access is readwrite.
          if (r.equals(a, ae, "read")) access = A_READ;
          else if (r.equals(a, ae, "write")) access = A_WRITE;
          else if (r.equals(a, ae, "readwrite")) access = A_READ | A_WRITE;
          else if (r.equals(a, ae, "deny")) access = A_DENY;
          else {
            this.fail(r.lineNo, "invalid topic access type \"" + r.text(a, ae) + "\"");
            return;
          }
          ts = ae + 1;
          te = r.end;
          while (ts < te && isSpace(r.at(ts))) ts++;
        }
        if (!validFilter(r.base + <usize>ts, te - ts)) {
          this.fail(r.lineNo, "invalid ACL topic \"" + r.text(ts, te) + "\"");
          return;
        }
        const f = compileFilter(r.base + <usize>ts, te - ts, isPattern, arena, code);
        if (isPattern) {
          if (!f.usesUser && !f.usesClient) {
            this.warnings.push("ACL pattern '" + r.text(ts, te) + "' (line " + r.lineNo.toString() + ") does not contain '%c' or '%u'");
          }
          raw.push(OWNER_PATTERN);
          raw.push(access);
          this.patternCount++;
        } else {
          raw.push(owner);
          raw.push(access);
          this.topicRuleCount++;
        }
        raw.push(f.index);
        raw.push(arena.append(r.base + <usize>ts, te - ts));
        rawLen.push(te - ts);
      } else if (r.equals(p, q, "user")) {
        if (q == r.end) {
          this.fail(r.lineNo, "missing username");
          return;
        }
        let ns = q + 1;
        while (ns < r.end && isSpace(r.at(ns))) ns++;
        const name = r.base + <usize>ns;
        const n = r.end - ns;
        let i = this.users.find(arena, name, n);
        if (i < 0) i = this.users.add(arena, name, n);
        owner = i;
      } else {
        this.fail(r.lineNo, "invalid line \"" + r.text(p, q) + "\"");
        return;
      }
    }
    this.layout(raw, rawLen, code, arena);
    this.arena = arena.finish();
    this.code = code.finish();
    this.arenaPtr = changetype<usize>(this.arena);
    this.codePtr = changetype<usize>(this.code);
    this.users.seal(this.arena);
  }

  // Groups the raw rules by owner (users in index order, then anonymous, then patterns), deny
  // rules first within each group, and records each group's range. Counting sort: O(rules).
  private layout(raw: IntBuf, rawLen: IntBuf, code: IntBuf, arena: ByteBuf): void {
    const nUsers = this.users.count;
    const groups = nUsers + 2; // users..., anonymous, patterns
    const denyCount = new StaticArray<i32>(groups);
    const allCount = new StaticArray<i32>(groups);
    const nRules = raw.length >> 2;
    for (let i = 0; i < nRules; i++) {
      const g = groupOf(raw.get(i * 4), nUsers);
      allCount[g]++;
      if ((raw.get(i * 4 + 1) & 0xff) == A_DENY) denyCount[g]++;
    }
    const nextDeny = new StaticArray<i32>(groups);
    const nextAllow = new StaticArray<i32>(groups);
    let at = 0;
    for (let g = 0; g < groups; g++) {
      nextDeny[g] = at;
      nextAllow[g] = at + denyCount[g];
      const end = at + allCount[g];
      if (g < nUsers) {
        this.users.setValue(g, 0, at);
        this.users.setValue(g, 1, nextAllow[g]);
        this.users.setValue(g, 2, end);
        if (end > at) this.userCount++;
      } else if (g == nUsers) {
        this.anonStart = at;
        this.anonEnd = end;
      } else {
        this.patStart = at;
        this.patEnd = end;
      }
      at = end;
    }
    const ints = RULE_BYTES >> 2;
    const rules = new StaticArray<i32>(nRules * ints + ints);
    const texts = new StaticArray<i32>(nRules * 2);
    for (let i = 0; i < nRules; i++) {
      const g = groupOf(raw.get(i * 4), nUsers);
      const access = raw.get(i * 4 + 1) & 0xff;
      const slot = access == A_DENY ? nextDeny[g]++ : nextAllow[g]++;
      const prog = raw.get(i * 4 + 2);
      texts[slot * 2] = raw.get(i * 4 + 3);
      texts[slot * 2 + 1] = rawLen.get(i);
      const r = slot * ints;
      const count = code.get(prog) >> 2;
      const first = code.get(prog + 1);
      const k0 = first & 7;
      const leadsWithLiteral = count > 0 && (k0 == T_LIT || k0 == T_LIT_HASH);
      const len = leadsWithLiteral ? first >> 3 : 0;
      const off = leadsWithLiteral ? code.get(prog + 2) : 0;
      // Quick-reject key: the first (up to 8) literal bytes, little-endian as a topic word loads.
      const n = len < 8 ? len : 8;
      let key: u64 = 0;
      for (let k = n - 1; k >= 0; k--) key = (key << 8) | <u64>arena.data[off + k];
      const mask: u64 = n == 0 ? 0 : <u64>-1 >> (<u64>(8 - n) << 3);
      // Shape: recognised from the token kinds; the literal is the first token's.
      let shape = S_GENERIC;
      let flags = access == A_DENY ? 0xff : access;
      const result = access == A_DENY ? R_DENY : R_GRANT;
      flags |= result == R_GRANT ? F_CHECK_USER | F_CHECK_CLIENT : F_DENY;
      // "/#" (an empty literal) stays generic: the direct shapes then never match an empty topic
      // by themselves, and only the generic path has to refuse it (hot.ts).
      if (count == 1 && k0 == T_LIT_HASH && len > 0) shape = S_PREFIX;
      else if (count == 1 && k0 == T_LIT) shape = S_EXACT;
      else if (count == 3 && k0 == T_LIT && len > 0 && (code.get(prog + 3) & 7) >= T_USER && code.get(prog + 5) == T_LIT_HASH) {
        shape = S_VALUE_PREFIX; // the LIT_HASH has an empty literal: exactly "/#" follows the value
        const client = (code.get(prog + 3) & 7) == T_CLIENT;
        if (client) flags |= F_CLIENT;
        flags &= ~(client ? F_CHECK_CLIENT : F_CHECK_USER);
      }
      rules[r] = <i32>key;
      rules[r + 1] = <i32>(key >> 32);
      rules[r + 2] = <i32>mask;
      rules[r + 3] = <i32>(mask >> 32);
      if (shape != S_GENERIC && len > 8) shape |= S_LONG;
      rules[r + 4] = flags | (shape << SHAPE_SHIFT) | (result << RESULT_SHIFT);
      rules[r + 5] = len;
      rules[r + 6] = off;
      rules[r + 7] = prog;
    }
    this.rules = rules;
    this.rulesPtr = changetype<usize>(rules);
    this.texts = texts;
    this.indexPatterns();
  }

  // Builds patByFirst: for each first byte of a topic, the pattern rules that can match it: those
  // whose literal prefix starts with that byte, and those without a literal prefix. A check then
  // looks at only these (the benchmark's two patterns `users/%u/#` and `public/#`: at most one
  // per topic, none for `other/x`). Order is kept, so deny rules stay first. Bytes no rule starts
  // with share the list of rules without a prefix.
  private indexPatterns(): void {
    const ints = RULE_BYTES >> 2;
    const seen = new StaticArray<bool>(256);
    let distinct = 0;
    let open = 0; // patterns without a literal first byte
    for (let i = this.patStart; i < this.patEnd; i++) {
      if (this.rules[i * ints + 2] == 0) {
        open++;
      } else {
        const b = this.rules[i * ints] & 0xff;
        if (!seen[b]) distinct++;
        seen[b] = true;
      }
    }
    const all = distinct * open > MAX_PATTERN_INDEX;
    const list = new IntBuf();
    const starts = new StaticArray<i32>(256);
    // -1: the shared list (rules without a prefix, or every rule when `all`).
    for (let b = -1; b < 256; b++) {
      if (b >= 0 && (all || !seen[b])) continue;
      const start = list.length;
      for (let i = this.patStart; i < this.patEnd; i++) {
        const r = i * ints;
        if (all || this.rules[r + 2] == 0 || (b >= 0 && (this.rules[r] & 0xff) == b)) {
          // The record itself, not its address: the check walks the list without a load per rule.
          for (let k = 0; k < ints; k++) list.push(this.rules[r + k]);
        }
      }
      // The end: a record whose flags are 0 (every rule's flags hold an access bit).
      for (let k = 0; k < ints; k++) list.push(0);
      for (let k = b < 0 ? 0 : b; k <= (b < 0 ? 255 : b); k++) starts[k] = start;
    }
    const entries = list.finish();
    this.patList = entries;
    const at = changetype<usize>(entries);
    const index = new StaticArray<usize>(256);
    for (let k = 0; k < 256; k++) index[k] = at + (<usize>starts[k] << 2);
    this.patByFirst = index;
    this.patByFirstPtr = changetype<usize>(index);
  }
}

// At most this many records in the lists of the first-byte index of the patterns (256 KiB);
// beyond it (many patterns without a literal first byte, times many first bytes) every byte gets
// all patterns.
const MAX_PATTERN_INDEX: i32 = 1 << 13;

// Group index of a raw rule's owner: users 0..n-1, anonymous n, patterns n+1.
function groupOf(owner: i32, nUsers: i32): i32 {
  if (owner == OWNER_ANON) return nUsers;
  if (owner == OWNER_PATTERN) return nUsers + 1;
  return owner;
}
