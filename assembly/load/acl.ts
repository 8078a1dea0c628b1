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
import { ByteBuf, IntBuf } from "./buffers";
import { eqBytes, hashBytes, hasWildcardAt, sameBytes } from "../../sdk/assembly/words";
import { compileFilter, validFilter } from "./compile";
import { LineReader, Lines, everyByte, findByteOrNul, hasNulAt, isSpace } from "../../sdk/assembly/lines";
import { ParseError, fail, failText, lineNo, readLines } from "./parse";
import { allocRecord } from "./pages";
import { USER_NAME, UserRecord, Users, findOrAddUser } from "./users";
import { T_CLIENT, T_LIT, T_LIT_HASH, T_USER, F_CHECK_CLIENT, F_CHECK_USER, F_CLIENT, F_DENY, RESULT_SHIFT, RULE_BYTES, R_DENY, R_GRANT, SHAPE_SHIFT, S_EXACT, S_GENERIC, S_LONG, S_PREFIX, S_VALUE_PREFIX } from "../rule";
import { Str } from "../../sdk/assembly";
import { DOLLAR, HASH, PLUS, SLASH } from "../../sdk/assembly/utf8";

/** Rule access bits as mosquitto stores them: deny is 0. */
const A_DENY: i32 = 0;
const A_READ: i32 = 1;
const A_WRITE: i32 = 2;
/** In a template, the owner's name (compile.ts compiles it as the username). */
export const NAME_MARK: u32 = 0;
/** i32s per rule record. */
const RULE_INTS: i32 = RULE_BYTES >> 2;

// What a template's filter means.
const KIND_TOPIC: u8 = 0;
const KIND_PATTERN: u8 = 1;

export { ParseError };

// Interned byte strings (rule templates and template sets): an open-addressing table, at most
// half full, of key records allocated with allocRecord (pages.ts): [id i32, length i32, bytes].
// Raw addresses only, so that a line's parse stores nothing on the shadow stack.
@unmanaged
class InternTable {
  slots: usize; // record addresses, 0 = empty
  mask: u32;
  count: i32;
}
const KEY_BYTES: usize = 8;

function newInternTable(): InternTable {
  const t = changetype<InternTable>(allocRecord(offsetof<InternTable>()));
  t.mask = 15;
  t.slots = allocRecord(16 << 2);
  return t;
}

// Whether the last intern() gave a new id.
let internAdded: bool = false;

// The key record of the `n` bytes at `p` in `t` (added with the next id when absent).
function intern(t: InternTable, p: usize, n: i32): usize {
  let s = hashBytes(p, n) & t.mask;
  while (true) {
    const v = <usize>load<u32>(t.slots + (<usize>s << 2));
    if (v == 0) break;
    if (load<i32>(v, 4) == n && eqBytes(v + KEY_BYTES, p, n)) {
      internAdded = false;
      return v;
    }
    s = (s + 1) & t.mask;
  }
  internAdded = true;
  if ((t.count + 1) * 2 > <i32>t.mask + 1) {
    growInternCold(t);
    s = hashBytes(p, n) & t.mask;
    while (load<u32>(t.slots + (<usize>s << 2)) != 0) s = (s + 1) & t.mask;
  }
  const rec = allocRecord(<i32>KEY_BYTES + n);
  store<i32>(rec, t.count++);
  store<i32>(rec, n, 4);
  memory.copy(rec + KEY_BYTES, p, <usize>n);
  store<u32>(t.slots + (<usize>s << 2), <u32>rec);
  return rec;
}

function growIntern(t: InternTable): void {
  const old = t.slots;
  const oldSlots = <i32>t.mask + 1;
  t.mask = (t.mask << 1) | 1;
  t.slots = allocRecord(oldSlots << 3);
  for (let i = 0; i < oldSlots; i++) {
    const v = <usize>load<u32>(old + (<usize>i << 2));
    if (v == 0) continue;
    let s = hashBytes(v + KEY_BYTES, load<i32>(v, 4)) & t.mask;
    while (load<u32>(t.slots + (<usize>s << 2)) != 0) s = (s + 1) & t.mask;
    store<u32>(t.slots + (<usize>s << 2), <u32>v);
  }
}

// A growable list of i32 on raw memory (its arrays kept alive by `keep`).
@unmanaged
class Ids {
  ptr: usize;
  length: i32;
  capacity: i32;
}

function newIds(): Ids {
  const ids = changetype<Ids>(allocRecord(offsetof<Ids>()));
  ids.capacity = 16;
  ids.ptr = allocRecord(16 << 2);
  return ids;
}

// @ts-ignore: decorator
@inline
function pushId(ids: Ids, v: i32): void {
  if (ids.length == ids.capacity) growIdsCold(ids);
  store<i32>(ids.ptr + (<usize>ids.length << 2), v);
  ids.length++;
}

function growIds(ids: Ids): void {
  const next = allocRecord(ids.capacity << 3);
  memory.copy(next, ids.ptr, <usize>ids.length << 2);
  ids.ptr = next;
  ids.capacity <<= 1;
}

// The file being parsed: plain values and globals (pages.ts says why), the Acl being built for
// the rare paths (a new template, a warning).
let parsing: Acl | null = null;
let templates: InternTable = changetype<InternTable>(0);
let sets: InternTable = changetype<InternTable>(0);
// Template ids of the anonymous rules, of the patterns and of the current `user` block, each
// split into deny rules and the others (a set lists its deny rules first).
let anonDeny: Ids = changetype<Ids>(0);
let anonAllow: Ids = changetype<Ids>(0);
let patDeny: Ids = changetype<Ids>(0);
let patAllow: Ids = changetype<Ids>(0);
let blockDeny: Ids = changetype<Ids>(0);
let blockAllow: Ids = changetype<Ids>(0);
let merged: Ids = changetype<Ids>(0); // users with several blocks: mergeBlock()
let owner: usize = 0; // UserRecord of the current `user` block, 0 before the first
let ownerName: usize = 0; // its name, when templated (templatable()); else 0
let topicRules: i32 = 0;
let patternRules: i32 = 0;
let usersWithRules: i32 = 0;
// The key being built: a scratch buffer of keyCapacity bytes.
let keyBuf: usize = 0;
let keyCapacity: i32 = 0;

// Cold paths, called through variables (pages.ts says why).
let growInternCold = (t: InternTable): void => growIntern(t);
let growIdsCold = (ids: Ids): void => growIds(ids);
let validFilterCold = (p: usize, n: i32): bool => validFilter(p, n);
let warnNoValueCold = (base: usize, ts: i32, e: i32): void => warnNoValue(base, ts, e);
let addTemplateCold = (p: usize, n: i32, access: i32, isPattern: bool): void => parsing!.addTemplate(p, n, access, isPattern);
let addSetCold = (rec: usize): void => parsing!.addSet(rec);
let mergeBlockCold = (user: UserRecord): void => mergeBlock(user);


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
  /** Filter programs (rule.ts, compile.ts). */
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

  // Per template (by id): its rule record (RULE_INTS), its text's [offset, length] in the arena,
  // and whether the filter uses %u or %c. Per set (by id): its key record.
  private templateRecords: IntBuf = new IntBuf();
  private templateTexts: IntBuf = new IntBuf();
  private templateUsesValue: IntBuf = new IntBuf();
  private setKeys: IntBuf = new IntBuf();
  // While parsing: the compiled filters.
  private arenaBuf: ByteBuf = new ByteBuf();
  private codeBuf: IntBuf = new IntBuf();
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
    acl.users.begin();
    parsing = acl;
    templates = newInternTable();
    sets = newInternTable();
    anonDeny = newIds();
    anonAllow = newIds();
    patDeny = newIds();
    patAllow = newIds();
    blockDeny = newIds();
    blockAllow = newIds();
    merged = newIds();
    owner = ownerName = 0;
    keyBuf = keyCapacity = 0; // the scratch key lives in the pages of the table being filled
    topicRules = patternRules = usersWithRules = 0;
    const error = readLines(lines, aclLine);
    if (error === null) {
      endBlock();
      endMerged();
    }
    acl.users.end();
    if (error === null) acl.finish();
    parsing = null;
    acl.error = error;
    return acl;
  }

  // The tables, once every line is read.
  private finish(): void {
    this.topicRuleCount = topicRules;
    this.patternCount = patternRules;
    this.userCount = usersWithRules;
    this.layout(internSet(anonDeny, anonAllow), internSet(patDeny, patAllow));
    this.arena = this.arenaBuf.finish();
    this.code = this.codeBuf.finish();
    this.arenaPtr = changetype<usize>(this.arena);
    this.codePtr = changetype<usize>(this.code);
    this.arenaBuf = new ByteBuf();
    this.codeBuf = new IntBuf();
  }

  /** Compiles template `id` (the next one), the `n` bytes at `p`, and precomputes its rule record. */
  addTemplate(p: usize, n: i32, access: i32, isPattern: bool): void {
    const arena = this.arenaBuf;
    const code = this.codeBuf;
    const f = compileFilter(p, n, isPattern, arena, code);
    this.templateTexts.push(arena.append(p, n));
    this.templateTexts.push(n);
    this.templateUsesValue.push(f.usesUser || f.usesClient ? 1 : 0);
    ruleRecord(access, f.index, code, arena, this.templateRecords);
  }

  /** Whether template `id`'s filter uses %u or %c. */
  usesValue(id: i32): bool {
    return this.templateUsesValue.get(id) != 0;
  }

  /** Records set `id`'s key record (the next set). */
  addSet(rec: usize): void {
    this.setKeys.push(<i32>rec);
  }

  /** Set `id`'s key record. */
  setKeyOf(id: i32): usize {
    return <usize>this.setKeys.get(id);
  }

  // Lays the sets' rule records out one after the other and gives every user, the anonymous
  // clients and the patterns their range. A set's key is [deny count, template ids...].
  private layout(anonSet: i32, patSet: i32): void {
    const nSets = this.setKeys.length;
    const setStart = new StaticArray<i32>(nSets + 1);
    let total = 0;
    for (let s = 0; s < nSets; s++) {
      setStart[s] = total;
      total += (load<i32>(<usize>this.setKeys.get(s), 4) >> 2) - 1;
    }
    setStart[nSets] = total;
    const rules = new StaticArray<i32>(total * RULE_INTS + RULE_INTS);
    const ruleTemplates = new StaticArray<i32>(total > 0 ? total : 1);
    for (let s = 0; s < nSets; s++) {
      const ids = <usize>this.setKeys.get(s) + KEY_BYTES + 4;
      for (let at = setStart[s]; at < setStart[s + 1]; at++) {
        const id = load<i32>(ids + (<usize>(at - setStart[s]) << 2));
        ruleTemplates[at] = id;
        for (let k = 0; k < RULE_INTS; k++) rules[at * RULE_INTS + k] = this.templateRecords.get(id * RULE_INTS + k);
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
    // A user's ruleStart held its set's id + 1 until now.
    const users = this.users;
    for (let i = 0; i < users.slotCount; i++) {
      const user = users.atSlot(i);
      if (user === null || user.ruleStart == 0) continue;
      const s = user.ruleStart - 1;
      user.ruleStart = setStart[s];
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

// One line `[s, e)`; false (parse.ts fail() called) when it is invalid. Written for files of 100k users
// under an interpreter whose fuel metering charges a function's whole body on every call: words
// rather than bytes, the error messages out of line.
function aclLine(base: usize, s: i32, e: i32): bool {
  if (hasNulAt(base + <usize>s, e - s)) return fail("NUL byte in line");
  while (e > s && isSpace(load<u8>(base + <usize>(e - 1)))) e--;
  if (e == s || <u32>load<u8>(base + <usize>s) == HASH) return true;
  // Tokens are separated by spaces only (strtok with " "): a tab is part of a token.
  let p = s;
  while (p < e && <u32>load<u8>(base + <usize>p) == SPACE) p++;
  if (p == e) return true;
  const n = findByteOrNul(base + <usize>p, e - p, SPACES);
  const w = load<u64>(base + <usize>p);
  if (n == 5 && (w & LOW_5) == WORD_TOPIC) return ruleLine(base, p + n, e, false);
  if (n == 7 && (w & LOW_7) == WORD_PATTERN) return ruleLine(base, p + n, e, true);
  if (n == 4 && (w & LOW_4) == WORD_USER) return userLine(base, p + n, e);
  return failText(base, "invalid line \"", p, p + n, "\"");
}

// `topic` or `pattern` (the keyword ends at `q`, the line at `e`).
function ruleLine(base: usize, q: i32, e: i32, isPattern: bool): bool {
  let a = q;
  while (a < e && <u32>load<u8>(base + <usize>a) == SPACE) a++;
  if (a == e) return fail("empty topic");
  const ae = a + findByteOrNul(base + <usize>a, e - a, SPACES);
  let access = A_READ | A_WRITE;
  let ts = a;
  if (ae < e) {
    // "topic ACCESS TOPIC": the topic is the rest of the line, blanks trimmed; it may hold
    // spaces. With a single word, that word is the topic and access is readwrite.
    access = accessWord(base + <usize>a, ae - a);
    if (access < 0) return failText(base, "invalid topic access type \"", a, ae, "\"");
    ts = ae + 1;
    while (ts < e && isSpace(load<u8>(base + <usize>ts))) ts++;
  }
  const tp = base + <usize>ts;
  const tn = e - ts;
  // A filter without `+` or `#` is valid (when not empty or too long): one word test per 8 bytes.
  if ((tn == 0 || tn > 0xffff || hasWildcardAt(tp, tn)) && !validFilterCold(tp, tn)) {
    return failText(base, "invalid ACL topic \"", ts, e, "\"");
  }
  const id = template(isPattern, access, tp, tn);
  const deny = access == A_DENY;
  if (isPattern) {
    if (!parsing!.usesValue(id)) warnNoValueCold(base, ts, e);
    pushId(deny ? patDeny : patAllow, id);
    patternRules++;
  } else {
    if (owner != 0) pushId(deny ? blockDeny : blockAllow, id);
    else pushId(deny ? anonDeny : anonAllow, id);
    topicRules++;
  }
  return true;
}

// The id of the template of a rule (compiled when first seen).
function template(isPattern: bool, access: i32, tp: usize, tn: i32): i32 {
  // The key: kind, access, then the text (the owner's name marked: never longer).
  if (tn + 2 > keyCapacity) growKey(tn + 2);
  const k = keyBuf;
  store<u8>(k, isPattern ? KIND_PATTERN : KIND_TOPIC);
  store<u8>(k, <u8>access, 1);
  let kn = tn;
  if (isPattern || ownerName == 0) memory.copy(k + 2, tp, <usize>tn);
  else kn = markName(k + 2, tp, tn, ownerName, changetype<UserRecord>(owner).nameLen);
  const rec = intern(templates, k, kn + 2);
  if (internAdded) addTemplateCold(rec + KEY_BYTES + 2, kn, access, isPattern);
  return load<i32>(rec);
}

function growKey(n: i32): void {
  keyCapacity = max(n, 256);
  keyBuf = allocRecord(keyCapacity);
}

// `user NAME` (the keyword ends at `q`, the line at `e`).
function userLine(base: usize, q: i32, e: i32): bool {
  if (q == e) return fail("missing username");
  let ns = q + 1;
  while (ns < e && isSpace(load<u8>(base + <usize>ns))) ns++;
  endBlock();
  const user = findOrAddUser(base + <usize>ns, e - ns);
  owner = changetype<usize>(user);
  ownerName = templatable(user) ? owner + USER_NAME : 0;
  return true;
}

// The current `user` block ended: its rules become the owner's template set, whose id + 1
// ruleStart holds until layout(); a later block of the same name goes to mergeBlock().
function endBlock(): void {
  if (owner == 0 || (blockDeny.length | blockAllow.length) == 0) return;
  const user = changetype<UserRecord>(owner);
  if (user.ruleStart == 0) {
    usersWithRules++;
    user.ruleStart = internSet(blockDeny, blockAllow) + 1;
  } else {
    mergeBlockCold(user);
  }
  blockDeny.length = blockAllow.length = 0;
}

// A user with several blocks (rare) gathers its rules in lists of its own, [user, deny ids, other
// ids] in `merged`, interned as one set once the file is read (endMerged): N blocks of one name
// cost their rules, not N times the rules so far. ruleStart is then -(its index in merged) - 1.
function mergeBlock(user: UserRecord): void {
  let k = -user.ruleStart - 1;
  if (user.ruleStart > 0) {
    const rec = parsing!.setKeyOf(user.ruleStart - 1);
    const n = (load<i32>(rec, 4) >> 2) - 1;
    const denies = load<i32>(rec, KEY_BYTES);
    const ids = rec + KEY_BYTES + 4;
    const deny = newIds();
    const allow = newIds();
    for (let i = 0; i < n; i++) pushId(i < denies ? deny : allow, load<i32>(ids + (<usize>i << 2)));
    k = merged.length / 3;
    pushId(merged, <i32>changetype<usize>(user));
    pushId(merged, <i32>changetype<usize>(deny));
    pushId(merged, <i32>changetype<usize>(allow));
    user.ruleStart = -k - 1;
  }
  appendIds(changetype<Ids>(<usize>load<i32>(merged.ptr + (<usize>(k * 3 + 1) << 2))), blockDeny);
  appendIds(changetype<Ids>(<usize>load<i32>(merged.ptr + (<usize>(k * 3 + 2) << 2))), blockAllow);
}

function appendIds(to: Ids, from: Ids): void {
  for (let i = 0; i < from.length; i++) pushId(to, load<i32>(from.ptr + (<usize>i << 2)));
}

// The users with several blocks get their sets.
function endMerged(): void {
  for (let k = 0; k < merged.length / 3; k++) {
    const at = merged.ptr + (<usize>(k * 3) << 2);
    const user = changetype<UserRecord>(<usize>load<i32>(at));
    user.ruleStart = internSet(changetype<Ids>(<usize>load<i32>(at, 4)), changetype<Ids>(<usize>load<i32>(at, 8))) + 1;
  }
}

// The id of the set of these templates (key: [deny count, deny ids, other ids]); -1 when empty.
function internSet(deny: Ids, allow: Ids): i32 {
  const n = deny.length + allow.length;
  if (n == 0) return -1;
  const bytes = (n + 1) << 2;
  if (bytes > keyCapacity) growKey(bytes);
  const k = keyBuf;
  store<i32>(k, deny.length);
  memory.copy(k + 4, deny.ptr, <usize>deny.length << 2);
  memory.copy(k + 4 + (<usize>deny.length << 2), allow.ptr, <usize>allow.length << 2);
  const rec = intern(sets, k, bytes);
  if (internAdded) addSetCold(rec);
  return load<i32>(rec);
}


function warnNoValue(base: usize, ts: i32, e: i32): void {
  const text = String.UTF8.decodeUnsafe(base + <usize>ts, <usize>(e - ts));
  parsing!.warnings.push("ACL pattern '" + text + "' (line " + lineNo.toString() + ") does not contain '%c' or '%u'");
}

// Whether `user`'s name can stand for itself in its rules' templates: not when it holds a
// wildcard (its rules' `+`/`#` are then wildcards, not a name) or starts with `$` (kept literal
// so the `$` rule of topic matching reads it as written).
function templatable(user: UserRecord): bool {
  const p = changetype<usize>(user) + USER_NAME;
  const n = user.nameLen;
  return n != 0 && <u32>load<u8>(p) != DOLLAR && !hasWildcardAt(p, n);
}

/**
 * Writes the filter text of `n` bytes at `p` to `out` with NAME_MARK for every run of whole
 * levels that spells the owner's name (`m` bytes at `name`); returns the length written. Both
 * runs have readable bytes past their end (Lines, pages.ts) for the word compares.
 */
function markName(out: usize, p: usize, n: i32, name: usize, m: i32): i32 {
  const start = out;
  let copied = 0; // bytes of the text up to here are in `out`
  let i = 0; // at the start of a level
  while (true) {
    if (i + m <= n && sameBytes(p + <usize>i, name, m) && (i + m == n || <u32>load<u8>(p + <usize>(i + m)) == SLASH)) {
      memory.copy(out, p + <usize>copied, <usize>(i - copied));
      out += <usize>(i - copied);
      store<u8>(out++, <u8>NAME_MARK);
      i += m;
      copied = i;
    } else {
      i += findByteOrNul(p + <usize>i, n - i, SLASHES);
    }
    if (i >= n) break;
    i++; // the "/"
  }
  memory.copy(out, p + <usize>copied, <usize>(n - copied));
  return <i32>(out - start) + n - copied;
}

// The access word of `n` bytes at `p` (readable past its end): its bits, or -1.
function accessWord(p: usize, n: i32): i32 {
  const w = load<u64>(p);
  if (n == 4) {
    if ((w & LOW_4) == WORD_READ) return A_READ;
    if ((w & LOW_4) == WORD_DENY) return A_DENY;
  } else if (n == 5) {
    if ((w & LOW_5) == WORD_WRITE) return A_WRITE;
  } else if (n == 9 && w == WORD_READWRIT && <u32>load<u8>(p, 8) == 0x65 /* e */) {
    return A_READ | A_WRITE;
  }
  return -1;
}

// Keywords and access words as the little-endian words a line's bytes load as.
const LOW_4: u64 = 0xffffffff;
const LOW_5: u64 = 0xffffffffff;
const LOW_7: u64 = 0xffffffffffffff;
const WORD_TOPIC: u64 = 0x6369706f74; // "topic"
const WORD_PATTERN: u64 = 0x6e726574746170; // "pattern"
const WORD_USER: u64 = 0x72657375; // "user"
const WORD_READ: u64 = 0x64616572; // "read"
const WORD_DENY: u64 = 0x796e6564; // "deny"
const WORD_WRITE: u64 = 0x6574697277; // "write"
const WORD_READWRIT: u64 = 0x7469727764616572; // "readwrit"
const SPACE: u32 = 0x20;
const SPACES: u64 = everyByte(SPACE);
const SLASHES: u64 = everyByte(SLASH);

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
