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
//
// Scale: each user's rules are kept as templates, with the user's own name (where a whole level or
// run of levels spells it) replaced by a NUL byte that the filter compiler reads as the username.
// Users whose rules differ only by their name then share one template set, and one copy of its
// rule records: 100k users with two rules each take a record of 20 bytes plus the name per user
// (users.ts), where one 32-byte rule record and one filter text per rule would not fit the
// default 16 MiB of guest memory.
import { ByteBuf, IntBuf, eqBytes, hashBytes } from "./buf";
import { T_CLIENT, T_LIT, T_LIT_HASH, T_USER, compileFilter, validFilter } from "./filter";
import { LineReader, Lines, isSpace } from "./lines";
import { USER_NAME, UserRecord, Users } from "./users";
import { Str } from "../sdk/assembly";
import { DOLLAR, HASH, PLUS, SLASH } from "../sdk/assembly/utf8";

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

/** In a template, the owner's name (filter.ts compiles it as the username). */
export const NAME_MARK: u32 = 0;
/** i32s per rule record. */
const RULE_INTS: i32 = RULE_BYTES >> 2;

// What a template's filter means.
const KIND_TOPIC: u8 = 0;
const KIND_PATTERN: u8 = 1;

/** A parse error: the 1-based line and what is wrong with it. */
export class ParseError {
  constructor(public line: i32, public message: string) {}
}

/**
 * Byte strings -> dense ids (0, 1, ...), the first occurrence of a string getting the next id:
 * the rule templates, and the template sets (their ids' bytes). Open addressing, at most half full.
 */
class Interner {
  private keys: ByteBuf = new ByteBuf();
  private spans: IntBuf = new IntBuf(); // per id: [offset in keys, length]
  private slots: StaticArray<i32> = new StaticArray<i32>(16); // id + 1, 0 empty
  private mask: u32 = 15;
  /** Number of ids given. */
  count: i32 = 0;
  /** Whether the last intern() gave a new id. */
  added: bool = false;

  /** The id of the `n` bytes at `p` (which must not point into this interner's own keys). */
  intern(p: usize, n: i32): i32 {
    let s = this.probe(p, n);
    const v = unchecked(this.slots[s]);
    this.added = v == 0;
    if (v != 0) return v - 1;
    if ((this.count + 1) * 2 > <i32>this.mask + 1) {
      this.grow();
      s = this.probe(p, n);
    }
    this.spans.push(this.keys.append(p, n));
    this.spans.push(n);
    unchecked((this.slots[s] = ++this.count));
    return this.count - 1;
  }

  /** Address of id `id`'s bytes (valid until the next intern()). */
  keyPtr(id: i32): usize {
    return this.keys.data.dataStart + <usize>this.spans.get(id * 2);
  }

  /** Length of id `id`'s bytes. */
  keyLen(id: i32): i32 {
    return this.spans.get(id * 2 + 1);
  }

  private probe(p: usize, n: i32): u32 {
    let s = hashBytes(p, n) & this.mask;
    while (true) {
      const v = unchecked(this.slots[s]);
      if (v == 0 || (this.keyLen(v - 1) == n && eqBytes(this.keyPtr(v - 1), p, n))) return s;
      s = (s + 1) & this.mask;
    }
  }

  private grow(): void {
    const cap = (this.mask + 1) << 1;
    this.slots = new StaticArray<i32>(cap);
    this.mask = cap - 1;
    for (let id = 0; id < this.count; id++) {
      let s = hashBytes(this.keyPtr(id), this.keyLen(id)) & this.mask;
      while (unchecked(this.slots[s]) != 0) s = (s + 1) & this.mask;
      unchecked((this.slots[s] = id + 1));
    }
  }
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
  /** Rule records (RULE_BYTES each): one run per template set, deny rules first. */
  rulesPtr: usize = 0;
  /** Filter programs (filter.ts). */
  codePtr: usize = 0;
  /** Literal bytes the programs refer to, and the templates' texts. */
  arenaPtr: usize = 0;
  /** Every user the configuration names, with the range of its `topic` rules (users.ts). */
  users: Users;
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

  /** Number of users with at least one rule. */
  userCount: i32 = 0;
  /** Number of `topic` rules (all owners). */
  topicRuleCount: i32 = 0;
  /** Number of `pattern` rules. */
  patternCount: i32 = 0;

  // Templates, by id: key [kind, access, text with NAME_MARK]; the rule record (RULE_INTS), the
  // text's [offset, length] in the arena, and whether the filter uses %u or %c.
  private templates: Interner = new Interner();
  private templateRecords: IntBuf = new IntBuf();
  private templateTexts: IntBuf = new IntBuf();
  private templateUsesValue: IntBuf = new IntBuf();
  // Template sets: key = the template ids (i32s), deny rules first.
  private sets: Interner = new Interner();
  private setItems: IntBuf = new IntBuf();
  // Per rule of the finished table: its template.
  private ruleTemplates: StaticArray<i32> = new StaticArray<i32>(1);

  constructor(users: Users | null) {
    this.users = users !== null ? users : new Users();
  }

  /** Address of rule `i`'s filter text (in a user's rules its name is a NUL byte: NAME_MARK). */
  filterPtr(i: i32): usize {
    return this.arenaPtr + <usize>this.templateTexts.get(this.ruleTemplates[i] * 2);
  }

  /** Length of rule `i`'s filter text. */
  filterLen(i: i32): i32 {
    return this.templateTexts.get(this.ruleTemplates[i] * 2 + 1);
  }

  /** Whether rule `i` is a deny rule. */
  isDeny(i: i32): bool {
    return (this.rules[i * RULE_INTS + 4] & F_DENY) != 0;
  }

  /** Rule `i`'s access bits (read, write; both for a deny rule). */
  ruleAccess(i: i32): i32 {
    return this.rules[i * RULE_INTS + 4] & (A_READ | A_WRITE);
  }

  /** The `topic` rules of `username`'s block ([start, end) rule indices), or of anonymous clients (null). */
  ownRules(username: Str | null): StaticArray<i32> {
    const out = new StaticArray<i32>(2);
    if (username === null) {
      out[0] = this.anonStart;
      out[1] = this.anonEnd;
    } else {
      const user = this.users.lookup(username);
      if (user !== null) {
        out[0] = user.ruleStart;
        out[1] = user.ruleEnd;
      }
    }
    return out;
  }

  /** Parses an acl_file held in memory. Check `error` afterwards. */
  static parse(data: Uint8Array, users: Users | null = null): Acl {
    return Acl.read(new LineReader(data), users);
  }

  /** Parses an acl_file's lines, adding its users to `users` (a new table when null). Check `error` afterwards. */
  static read(lines: Lines, users: Users | null = null): Acl {
    const acl = new Acl(users);
    acl.build(lines);
    if (acl.error === null && lines.error !== null) acl.fail(lines.lineNo, lines.error!);
    return acl;
  }

  private fail(line: i32, message: string): void {
    if (this.error === null) this.error = new ParseError(line, message);
  }

  private build(r: Lines): void {
    const arena = new ByteBuf();
    const code = new IntBuf();
    const key = new ByteBuf();
    // Template ids of the anonymous rules and of the patterns (file order), and of the block of
    // the `user` line being read.
    const anon = new IntBuf();
    const patterns = new IntBuf();
    const block = new IntBuf();
    let owner: UserRecord | null = null;
    let ownerName: usize = 0; // 0 when the owner's name is not templated (templatable())
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
        key.length = 0;
        key.push(isPattern ? KIND_PATTERN : KIND_TOPIC);
        key.push(<u8>access);
        if (isPattern || ownerName == 0) key.append(r.base + <usize>ts, te - ts);
        else appendTemplate(key, r.base + <usize>ts, te - ts, ownerName, owner!.nameLen);
        const id = this.templates.intern(key.data.dataStart, key.length);
        if (this.templates.added) this.addTemplate(key.data.dataStart + 2, key.length - 2, access, isPattern, arena, code);
        if (isPattern) {
          if (this.templateUsesValue.get(id) == 0) {
            this.warnings.push("ACL pattern '" + r.text(ts, te) + "' (line " + r.lineNo.toString() + ") does not contain '%c' or '%u'");
          }
          patterns.push(id);
          this.patternCount++;
        } else {
          (owner !== null ? block : anon).push(id);
          this.topicRuleCount++;
        }
      } else if (r.equals(p, q, "user")) {
        if (q == r.end) {
          this.fail(r.lineNo, "missing username");
          return;
        }
        let ns = q + 1;
        while (ns < r.end && isSpace(r.at(ns))) ns++;
        if (owner !== null) this.endBlock(owner, block);
        owner = this.users.findOrAdd(r.base + <usize>ns, r.end - ns);
        ownerName = templatable(owner) ? changetype<usize>(owner) + USER_NAME : 0;
      } else {
        this.fail(r.lineNo, "invalid line \"" + r.text(p, q) + "\"");
        return;
      }
    }
    if (owner !== null) this.endBlock(owner, block);
    this.layout(this.internSet(anon), this.internSet(patterns), arena);
    this.arena = arena.finish();
    this.code = code.finish();
    this.arenaPtr = changetype<usize>(this.arena);
    this.codePtr = changetype<usize>(this.code);
  }

  // Compiles a new template (its id is the next one) and precomputes its rule record.
  private addTemplate(p: usize, n: i32, access: i32, isPattern: bool, arena: ByteBuf, code: IntBuf): void {
    const f = compileFilter(p, n, isPattern, arena, code);
    this.templateTexts.push(arena.append(p, n));
    this.templateTexts.push(n);
    this.templateUsesValue.push(f.usesUser || f.usesClient ? 1 : 0);
    ruleRecord(access, f.index, code, arena, this.templateRecords);
  }

  // A user's block ended: its rules so far (an earlier block of the same name included) become
  // the user's template set, which ruleStart holds (as id + 1) until layout().
  private endBlock(owner: UserRecord, block: IntBuf): void {
    if (block.length == 0) return;
    if (owner.ruleStart != 0) {
      const set = owner.ruleStart - 1;
      const p = this.sets.keyPtr(set);
      const n = this.sets.keyLen(set) >> 2;
      const merged = new IntBuf();
      for (let i = 0; i < n; i++) merged.push(load<i32>(p + (<usize>i << 2)));
      for (let i = 0; i < block.length; i++) merged.push(block.get(i));
      owner.ruleStart = this.internSet(merged) + 1;
    } else {
      owner.ruleStart = this.internSet(block) + 1;
      this.userCount++;
    }
    block.truncate(0);
  }

  // The id of the set of these templates, deny rules first (file order otherwise); -1 when empty.
  private internSet(ids: IntBuf): i32 {
    if (ids.length == 0) return -1;
    const items = this.setItems;
    items.truncate(0);
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < ids.length; i++) {
        const id = ids.get(i);
        const deny = (this.templateRecords.get(id * RULE_INTS + 4) & F_DENY) != 0;
        if (deny == (pass == 0)) items.push(id);
      }
    }
    return this.sets.intern(changetype<usize>(items.data), items.length << 2);
  }

  // Lays the sets' rule records out one after the other and gives every user, the anonymous
  // clients and the patterns their range.
  private layout(anonSet: i32, patSet: i32, arena: ByteBuf): void {
    const nSets = this.sets.count;
    const setStart = new StaticArray<i32>(nSets + 1);
    let total = 0;
    for (let s = 0; s < nSets; s++) {
      setStart[s] = total;
      total += this.sets.keyLen(s) >> 2;
    }
    setStart[nSets] = total;
    const setAllow = new StaticArray<i32>(nSets);
    const rules = new StaticArray<i32>(total * RULE_INTS + RULE_INTS);
    const ruleTemplates = new StaticArray<i32>(total > 0 ? total : 1);
    for (let s = 0; s < nSets; s++) {
      const p = this.sets.keyPtr(s);
      const n = this.sets.keyLen(s) >> 2;
      let at = setStart[s];
      setAllow[s] = at + n;
      for (let i = 0; i < n; i++, at++) {
        const id = load<i32>(p + (<usize>i << 2));
        ruleTemplates[at] = id;
        for (let k = 0; k < RULE_INTS; k++) rules[at * RULE_INTS + k] = this.templateRecords.get(id * RULE_INTS + k);
        if (setAllow[s] == setStart[s] + n && (rules[at * RULE_INTS + 4] & F_DENY) == 0) setAllow[s] = at;
      }
    }
    this.rules = rules;
    this.rulesPtr = changetype<usize>(rules);
    this.ruleTemplates = ruleTemplates;
    if (anonSet >= 0) {
      this.anonStart = setStart[anonSet];
      this.anonEnd = setStart[anonSet + 1];
    }
    if (patSet >= 0) {
      this.patStart = setStart[patSet];
      this.patEnd = setStart[patSet + 1];
    }
    const users = this.users;
    for (let i = 0; i < users.slotCount; i++) {
      const user = users.atSlot(i);
      if (user === null || user.ruleStart == 0) continue;
      const s = user.ruleStart - 1;
      user.ruleStart = setStart[s];
      user.ruleAllow = setAllow[s];
      user.ruleEnd = setStart[s + 1];
    }
    this.indexPatterns();
  }

  // Builds patByFirst: for each first byte of a topic, the pattern rules that can match it: those
  // whose literal prefix starts with that byte, and those without a literal prefix. A check then
  // looks at only these (the benchmark's two patterns `users/%u/#` and `public/#`: at most one
  // per topic, none for `other/x`). Order is kept, so deny rules stay first. Bytes no rule starts
  // with share the list of rules without a prefix.
  private indexPatterns(): void {
    const ints = RULE_INTS;
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

// Whether `user`'s name can stand for itself in its rules' templates: not when it holds a
// wildcard (its rules' `+`/`#` are then wildcards, not a name) or starts with `$` (kept literal
// so the `$` rule of topic matching reads it as written).
function templatable(user: UserRecord): bool {
  const p = changetype<usize>(user) + USER_NAME;
  const n = user.nameLen;
  if (n == 0 || <u32>load<u8>(p) == DOLLAR) return false;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c == PLUS || c == HASH) return false;
  }
  return true;
}

// Appends the filter text of `n` bytes at `p` to `key` with NAME_MARK for every run of whole
// levels that spells the owner's name (`m` bytes at `name`).
function appendTemplate(key: ByteBuf, p: usize, n: i32, name: usize, m: i32): void {
  let i = 0;
  while (true) {
    // At the start of a level.
    if (i + m <= n && eqBytes(p + <usize>i, name, m) && (i + m == n || <u32>load<u8>(p + <usize>(i + m)) == SLASH)) {
      key.push(<u8>NAME_MARK);
      i += m;
    } else {
      let j = i;
      while (j < n && <u32>load<u8>(p + <usize>j) != SLASH) j++;
      key.append(p + <usize>i, j - i);
      i = j;
    }
    if (i >= n) break;
    key.push(<u8>SLASH);
    i++;
  }
}

// Appends the rule record (RULE_INTS) of a filter compiled at `prog` with `access` to `out`.
function ruleRecord(access: i32, prog: i32, code: IntBuf, arena: ByteBuf, out: IntBuf): void {
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
  if (shape != S_GENERIC && len > 8) shape |= S_LONG;
  out.push(<i32>key);
  out.push(<i32>(key >> 32));
  out.push(<i32>mask);
  out.push(<i32>(mask >> 32));
  out.push(flags | (shape << SHAPE_SHIFT) | (result << RESULT_SHIFT));
  out.push(len);
  out.push(off);
  out.push(prog);
}
