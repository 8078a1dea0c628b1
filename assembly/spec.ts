// The specification of the default policy's acl_file: mosquitto 2.0.11's parsing and check,
// written to be read, over plain strings and arrays. Each rule of assembly/README.md,
// "Semantics", is one short function or block below, quoted in its comment. The policy itself
// runs the compiled tables of acl.ts and hot.ts, which must decide exactly as this does;
// assembly/__tests__/differential.spec.ts checks that on generated files and requests.
//
// Nothing here is imported by index.ts, so the policy's module does not carry it.
import { Access, Decision, Str, topicMatchesSub } from "../sdk/assembly";
import { LOWER_C, LOWER_U, PERCENT } from "../sdk/assembly/utf8";

/** A refused acl_file: its first bad line (1-based) and what is wrong with it. */
export class AclSpecError {
  /** 1-based line number. */
  line: i32;
  /** The message, as the policy logs it after "acl_file PATH line N: ". */
  message: string;

  constructor(line: i32, message: string) {
    this.line = line;
    this.message = message;
  }
}

/** One `topic` or `pattern` line. */
export class AclSpecRule {
  /** Access.Read, Access.Write or both; 0 for a `deny` rule. */
  access: i32;
  /** The topic filter as written (in a pattern, `%u` and `%c` not substituted). */
  filter: string;

  constructor(access: i32, filter: string) {
    this.access = access;
    this.filter = filter;
  }

  /** A `deny` rule: refuses every access on the topics it matches. */
  get isDeny(): bool {
    return this.access == DENY;
  }
}

// mosquitto stores `deny` as an access of no bits.
const DENY: i32 = 0;
// Not an access word.
const INVALID: i32 = -1;

/**
 * An acl_file as mosquitto 2.0.11 reads it, and its decisions. (Without an acl_file at all the
 * policy allows every request; that is not this class's concern.)
 */
export class AclSpec {
  /** Set when the file is refused; the rules then hold only what came before the bad line. */
  error: AclSpecError | null = null;
  /** What mosquitto logs as warnings while reading the file, in file order. */
  warnings: string[] = [];
  /** The `topic` lines before the first `user` line: anonymous clients' rules. */
  anonymousRules: AclSpecRule[] = [];
  /** The `topic` lines of each `user` block, by name, blocks of one name merged. */
  userRules: Map<string, AclSpecRule[]> = new Map<string, AclSpecRule[]>();
  /** The `pattern` lines. */
  patterns: AclSpecRule[] = [];

  // Where `topic` lines go: the anonymous rules, then the last `user` line's.
  private owner: AclSpecRule[] = this.anonymousRules;

  /** Reads an acl_file. Check `error` afterwards. */
  static parse(text: string): AclSpec {
    const acl = new AclSpec();
    const lines = text.split("\n");
    for (let i = 0; i < lines.length && acl.error === null; i++) acl.parseLine(lines[i], i + 1);
    return acl;
  }

  /**
   * The decision on a request: `access` is an Access value; `username` is null for an
   * anonymous client.
   */
  decide(clientid: string, username: string | null, topic: string, access: i32): Decision {
    // "SUBSCRIBE and UNSUBSCRIBE are always granted: mosquitto 2.0.11's acl_file does not check
    // subscriptions".
    if (access == Access.Subscribe || access == Access.Unsubscribe) return Decision.Allow;
    // "Topic matching is `mosquitto_topic_matches_sub`'s": the SDK's topicMatchesSub, which
    // sdk/assembly/__tests__/topic.spec.ts holds to it, reads the topic as UTF-8 bytes.
    const t = Str.fromString(topic);
    const decision = this.check(clientid, username, t, access);
    t.free();
    return decision;
  }

  /** A client's own `topic` rules: its `user` blocks', or anonymous clients' (`username` null). */
  rulesOf(username: string | null): AclSpecRule[] {
    if (username === null) return this.anonymousRules;
    return this.userRules.has(username) ? this.userRules.get(username) : [];
  }

  /** The patterns as they apply to one client: those it gets, `%u` and `%c` substituted. */
  patternsFor(clientid: string, username: string | null): AclSpecRule[] {
    const out: AclSpecRule[] = [];
    // "a client whose username or client id holds `+` or `#` gets no pattern at all
    // (CVE-2017-7650)".
    if (hasWildcard(clientid) || (username !== null && hasWildcard(username))) return out;
    for (let i = 0; i < this.patterns.length; i++) {
      const p = this.patterns[i];
      // "a pattern using `%u` is skipped for anonymous clients".
      if (username === null && p.filter.includes("%u")) continue;
      out.push(new AclSpecRule(p.access, substitute(p.filter, clientid, username)));
    }
    return out;
  }

  // A READ or WRITE check (or one of no access, which nothing grants).
  private check(clientid: string, username: string | null, topic: Str, access: i32): Decision {
    // "A READ or WRITE check tries the client's own `topic` rules: a matching `deny` denies
    // (whatever its position in the file), else a matching rule holding the access grants."
    const own = this.rulesOf(username);
    if (anyDenies(own, topic)) return Decision.Deny;
    if (anyGrants(own, topic, access)) return Decision.Allow;
    // "Undecided, it tries the patterns the same way" ("A user's own grant therefore beats a
    // pattern `deny`").
    const patterns = this.patternsFor(clientid, username);
    if (anyDenies(patterns, topic)) return Decision.Deny;
    if (anyGrants(patterns, topic, access)) return Decision.Allow;
    // "Otherwise deny."
    return Decision.Deny;
  }

  // One line of the file, numbered from 1.
  private parseLine(line: string, number: i32): void {
    // "A NUL byte in either file is an error (mosquitto would cut the line there)."
    if (line.includes("\0")) {
      this.fail(number, "NUL byte in line");
      return;
    }
    // mosquitto drops trailing blanks (C's isspace) first, a CRLF file's CR included.
    line = trimBlanksEnd(line);
    // "a comment is a line whose first byte is `#`" (after spaces it is a word, and invalid).
    if (line.startsWith("#")) return;
    // "tokens are separated by spaces only (a tab is part of a token: `\ttopic read x` is an
    // invalid line)".
    const words = new Words(line);
    const keyword = words.next();
    if (keyword === null) return; // a blank line
    if (keyword == "topic") this.parseRule(words, number, false);
    else if (keyword == "pattern") this.parseRule(words, number, true);
    else if (keyword == "user") this.parseUser(words, number);
    else this.fail(number, "invalid line \"" + keyword + "\"");
  }

  // "`topic [read|write|readwrite|deny] TOPIC`", "`pattern [access] PATTERN`": the words after
  // the keyword.
  private parseRule(words: Words, number: i32, isPattern: bool): void {
    const first = words.next();
    if (first === null) {
      this.fail(number, "empty topic");
      return;
    }
    // "`topic read` alone is a rule for the topic `read`"; "No access word: `readwrite`".
    let access = Access.Read | Access.Write;
    let filter = first;
    const rest = words.rest();
    if (rest !== null) {
      access = accessOf(first);
      if (access == INVALID) {
        this.fail(number, "invalid topic access type \"" + first + "\"");
        return;
      }
      // "the topic is the rest of the line with blanks trimmed and may contain spaces".
      filter = trimBlanks(rest);
    }
    // "a rule topic must be a valid subscription filter".
    if (!isSubscriptionFilter(filter)) {
      this.fail(number, "invalid ACL topic \"" + filter + "\"");
      return;
    }
    const rule = new AclSpecRule(access, filter);
    if (!isPattern) {
      // "before any `user` line for anonymous clients, after `user NAME` for that user".
      this.owner.push(rule);
      return;
    }
    // mosquitto warns about a pattern that substitutes nothing (it applies to every client alike).
    if (!filter.includes("%u") && !filter.includes("%c")) {
      this.warnings.push("ACL pattern '" + filter + "' (line " + number.toString() + ") does not contain '%c' or '%u'");
    }
    this.patterns.push(rule);
  }

  // "`user NAME`": the name is the rest of the line, blanks trimmed. "several blocks of one name
  // merge".
  private parseUser(words: Words, number: i32): void {
    const rest = words.rest();
    if (rest === null) {
      this.fail(number, "missing username");
      return;
    }
    const name = trimBlanks(rest);
    if (!this.userRules.has(name)) this.userRules.set(name, []);
    this.owner = this.userRules.get(name);
  }

  // "An invalid line stops the load with its number".
  private fail(number: i32, message: string): void {
    this.error = new AclSpecError(number, message);
  }
}

// "access words are case-sensitive".
function accessOf(word: string): i32 {
  if (word == "read") return Access.Read;
  if (word == "write") return Access.Write;
  if (word == "readwrite") return Access.Read | Access.Write;
  if (word == "deny") return DENY;
  return INVALID;
}

// mosquitto_sub_topic_check: `+` and `#` only as whole levels, `#` only as the last one, at most
// 65,535 bytes.
function isSubscriptionFilter(filter: string): bool {
  if (String.UTF8.byteLength(filter) > 65535) return false;
  const levels = filter.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level == "+" || (level == "#" && i == levels.length - 1)) continue;
    if (hasWildcard(level)) return false;
  }
  return true;
}

// "`%u`/`%c` are substituted as plain text, also inside a level": mosquitto's loop, left to
// right, so a username holding "%c" is not substituted again. `%u` stays as written for an
// anonymous client (whose patterns using it are skipped anyway).
function substitute(pattern: string, clientid: string, username: string | null): string {
  let out = "";
  let copied = 0; // pattern[0, copied) is in `out`
  for (let i = 0; i + 1 < pattern.length; i++) {
    if (<u32>pattern.charCodeAt(i) != PERCENT) continue;
    const next = <u32>pattern.charCodeAt(i + 1);
    let value: string | null = null;
    if (next == LOWER_C) value = clientid;
    else if (next == LOWER_U) value = username;
    if (value === null) continue;
    out += pattern.substring(copied, i) + value;
    i++;
    copied = i + 1;
  }
  return out + pattern.substring(copied);
}

// Whether a rule of `rules` that matches `topic` is a deny.
function anyDenies(rules: AclSpecRule[], topic: Str): bool {
  for (let i = 0; i < rules.length; i++) {
    if (rules[i].isDeny && topicMatchesSub(rules[i].filter, topic)) return true;
  }
  return false;
}

// Whether a rule of `rules` that matches `topic` holds `access`.
function anyGrants(rules: AclSpecRule[], topic: Str, access: i32): bool {
  for (let i = 0; i < rules.length; i++) {
    if ((rules[i].access & access) != 0 && topicMatchesSub(rules[i].filter, topic)) return true;
  }
  return false;
}

function hasWildcard(s: string): bool {
  return s.includes("+") || s.includes("#");
}

// C's isspace in the C locale: space, \t, \n, \v, \f, \r.
function isBlank(c: i32): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

function trimBlanksEnd(s: string): string {
  let end = s.length;
  while (end > 0 && isBlank(s.charCodeAt(end - 1))) end--;
  return s.substring(0, end);
}

// mosquitto's misc__trimblanks.
function trimBlanks(s: string): string {
  let start = 0;
  while (start < s.length && isBlank(s.charCodeAt(start))) start++;
  return trimBlanksEnd(s.substring(start));
}

// A line split into words the way mosquitto does it, with strtok_r(line, " "): words are
// separated by spaces only.
class Words {
  private line: string;
  private at: i32 = 0;

  constructor(line: string) {
    this.line = line;
  }

  // The next word (the spaces before it skipped, the one after it consumed); null at the end.
  next(): string | null {
    while (this.at < this.line.length && this.line.charCodeAt(this.at) == 0x20) this.at++;
    if (this.at == this.line.length) return null;
    let end = this.line.indexOf(" ", this.at);
    if (end < 0) end = this.line.length;
    const word = this.line.substring(this.at, end);
    this.at = min(end + 1, this.line.length);
    return word;
  }

  // strtok_r(NULL, ""): everything after the last word's space, as written; null when nothing
  // is left.
  rest(): string | null {
    return this.at < this.line.length ? this.line.substring(this.at) : null;
  }
}
