// The fast path (acl.ts's compiled tables, hot.ts's acl_check: quick-reject keys, shape fast
// paths, token programs, the memo) against the specification (spec.ts) on generated acl_files
// and requests: both read the same text and must agree on the error (line and message), the
// warnings and every decision. Fixed seed, so a failure is reproducible; its message holds the
// file and the request. Grants are not compared here: the SDK's Grants cannot be read back in
// the guest, and plugin-c/tests/test_grants.c and tests/policies/grants.test.ts hold them to
// acl_check's decisions.
import { Acl } from "../load/acl";
import { acl_check, install } from "../check/hot";
import { AclSpec, AclSpecRule } from "../spec";
import { Access, Decision, Str, topicMatchesPattern, topicMatchesPatternStr } from "../../sdk/assembly";
import { str } from "../../sdk/assembly/testing";

let seed: u32 = 0x2545f491;
function rnd(n: i32): i32 {
  // xorshift32
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return <i32>(seed % <u32>n);
}
function pick(a: string[]): string {
  return a[rnd(a.length)];
}
// True one time in `n`.
function oneIn(n: i32): bool {
  return rnd(n) == 0;
}

let LEVELS: string[] = ["a", "b", "ab", "users", "alice", "", "c1", "x", "longer-level-name", "alx", "c1x", "a b", "grün", "%u"];
let NAMES: string[] = ["alice", "bob", "al", "a/b", "$x", "", "users", "longer-user-name-1", "a+b", "a b", "a\tb", "c1", "%c", "jürgen"];
let CLIENTS: string[] = ["c1", "alice", "c", "client-with-a-long-id", "$c", "c#", "a/b", ""];
// Filters this many levels long at most.
let MAX_LEVELS = 4;

// The second round: long levels, names and client ids (past the word compares and into the
// memo's level scans and value boxes: assembly/check/memo.ts), values holding "/" and repeating the
// levels, deeper filters with runs of `+`.
const LONG_LEVELS: string[] = ["a", "x", "", "level-of-twenty-bytes", "x/x", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "a/b/c/d/e/f/g/h/i", "alice-the-user-of-long-name"];
const LONG_NAMES: string[] = ["alice-the-user-of-long-name", "x/x/x/x/x/x/x/x/x/x/x", "x/x/x/x/x/x/x/x/x/x/y", "level-of-twenty-bytes/x",
  "a/b/c/d/e/f/g/h/i", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "alice", "x/x+x/x/x/x/x/x/x/x/x", "$level-of-twenty-bytes"];
const LONG_CLIENTS: string[] = ["x/x/x/x/x/x/x/x/x/x/x", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/x", "client-with-a-long-id-0123456789", "a/b/c/d/e/f/g/h/i",
  "c1", "x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x#"];
const ACCESS_WORDS: string[] = ["read", "write", "readwrite", "deny"];
// READ and WRITE most often: they are the ones the rules decide.
const ACCESS: i32[] = [Access.Read, Access.Write, Access.Read, Access.Write, Access.Read, Access.Write, Access.Subscribe, Access.Unsubscribe, Access.None];

// Lines that are neither rules nor user lines but are not errors either.
const IGNORED_LINES: string[] = ["# a comment", "#topic read a/#", "#", "#\tuser bob", "", "   ", "\t", "\r", " \t \x0b"];
// Lines mosquitto refuses, one for each way of being wrong.
const BAD_LINES: string[] = [
  "topic Read a", "topic READ a/b", "pattern rw a/%u", "topic read a/#/b", "topic write a+", "pattern read +x/%u",
  "topic deny #/a", "Topic read a", "users alice", "user", "user \t ", "topic", "pattern  ", "\ttopic read a",
  "  # not a comment: only the first byte counts", "topic read a\0", "\0# comment", "topic\tread a", "pattern read %u/a#",
];

function randomFilter(patterns: bool): string {
  // Often one of the forms hot.ts matches without the token program: "L/#", "L/L", "L/%u/#".
  const shape = rnd(6);
  if (shape == 0) return pick(LEVELS) + "/#";
  if (shape == 1) return pick(LEVELS) + "/" + pick(LEVELS);
  if (shape == 2 && patterns) return pick(LEVELS) + (rnd(2) == 0 ? "/%u/#" : "/%c/#");
  const n = 1 + rnd(MAX_LEVELS);
  let s = "";
  for (let i = 0; i < n; i++) {
    if (i > 0) s += "/";
    const r = rnd(10);
    if (r == 0) s += "+";
    else if (r == 1 && i == n - 1) s += "#";
    else if (patterns && r == 2) s += "%u";
    else if (patterns && r == 3) s += "%c";
    else if (patterns && r == 4) s += "x%u";
    else s += pick(LEVELS);
  }
  // Sometimes a $ topic; "$+" or "$#" would not be a valid filter.
  if (rnd(8) == 0 && !s.startsWith("+") && !s.startsWith("#")) s = "$" + s;
  return s;
}

// A PUBLISH topic: never holds + or # (mosquitto refuses such a topic before any ACL check), so
// values with wildcards are not copied into it.
function randomTopic(user: string, client: string): string {
  if (hasWild(user)) user = "u";
  if (hasWild(client)) client = "c";
  const n = 1 + rnd(MAX_LEVELS);
  let s = rnd(8) == 0 ? "$" : "";
  for (let i = 0; i < n; i++) {
    if (i > 0) s += "/";
    const r = rnd(8);
    s += r == 0 ? user : r == 1 ? client : pick(LEVELS);
  }
  return s.length == 0 ? "a" : s;
}

function hasWild(s: string): bool {
  return s.includes("+") || s.includes("#");
}

// A `topic` or `pattern` line in one of the spellings mosquitto accepts for it.
function ruleLine(keyword: string, access: string, filter: string): string {
  const r = rnd(8);
  // Without an access word when that means the same (a lone word is the topic, readwrite).
  if (r == 0 && access == "readwrite" && !filter.includes(" ")) return keyword + " " + filter;
  if (r == 1) return keyword + "  " + access + " \t " + filter;
  if (r == 2) return "  " + keyword + " " + access + " " + filter;
  return keyword + " " + access + " " + filter;
}

// A `user` line for `name`, in one of the spellings that name it.
function userLine(name: string): string {
  const r = rnd(6);
  if (r == 0) return "user  \t" + name;
  if (r == 1) return " user " + name + " \t";
  return "user " + name;
}

// A name like `name` but another: a prefix, an extension, a case or a blank off.
function nearName(name: string): string {
  const r = rnd(5);
  if (r == 0 && name.length > 1) return name.substring(0, name.length - 1);
  if (r == 1) return name + "x";
  if (r == 2) return "x" + name;
  if (r == 3) return name.toUpperCase();
  return name + " ";
}

// A generated acl_file.
class AclFile {
  text: string = "";
  // The names of its user blocks (some repeat: their blocks merge).
  names: string[] = [];
  // The filters of its rules and patterns, as written.
  filters: string[] = [];

  line(s: string): void {
    if (oneIn(8)) {
      // Blank, comment and malformed lines anywhere: about one file in five has an error.
      this.text += (oneIn(6) ? pick(BAD_LINES) : pick(IGNORED_LINES)) + "\n";
    }
    const r = rnd(12);
    this.text += s + (r == 0 ? "\r\n" : r == 1 ? " \t\n" : "\n");
  }

  rule(keyword: string): void {
    const filter = randomFilter(keyword == "pattern");
    this.filters.push(filter);
    this.line(ruleLine(keyword, pick(ACCESS_WORDS), filter));
  }
}

function randomFile(): AclFile {
  const f = new AclFile();
  for (let i = rnd(4); i > 0; i--) f.rule("topic");
  for (let b = rnd(6); b > 0; b--) {
    // A name seen before (its blocks merge), one near a name seen before, a client id, or a new one.
    const r = rnd(6);
    let name = f.names.length > 0 && r == 0 ? pick(f.names)
      : f.names.length > 0 && r == 1 ? nearName(pick(f.names))
      : r == 2 ? pick(CLIENTS)
      : pick(NAMES);
    name = name.trim();
    if (name.length == 0) name = "empty";
    f.names.push(name);
    f.line(userLine(name));
    // A pattern line inside a user block is still for every client.
    for (let i = rnd(5); i > 0; i--) f.rule(oneIn(6) ? "pattern" : "topic");
  }
  for (let i = rnd(5); i > 0; i--) f.rule("pattern");
  // Sometimes the last line has no line end.
  if (oneIn(4) && f.text.endsWith("\n")) f.text = f.text.substring(0, f.text.length - 1);
  return f;
}

// A topic `filter` matches, or nearly: its `+` and `#` levels filled in, `%u` and `%c` replaced
// by the values (for an anonymous client `%u` stays as written: such a pattern must still not
// apply). Random topics seldom match the rules; these make denies and grants meet.
function topicFrom(filter: string, user: string | null, client: string): string {
  const levels = filter.split("/");
  let s = "";
  for (let i = 0; i < levels.length; i++) {
    let level = levels[i];
    if (level == "#") {
      // `a/#` matches `a` too.
      if (oneIn(3)) break;
      level = pick(LEVELS) + (oneIn(2) ? "/" + pick(LEVELS) : "");
    } else if (level == "+") {
      level = pick(LEVELS);
    } else {
      // Not replaceAll: AssemblyScript 0.27's writes past its buffer when a replacement is much
      // longer than the text.
      if (user !== null && !hasWild(user)) level = level.split("%u").join(user);
      if (!hasWild(client)) level = level.split("%c").join(client);
    }
    s += (i > 0 ? "/" : "") + level;
  }
  return s.length == 0 || hasWild(s) ? "a" : s;
}

function randomUser(f: AclFile): string | null {
  const r = rnd(10);
  if (r < 2) return null;
  if (r < 6 && f.names.length > 0) return pick(f.names);
  if (r < 8 && f.names.length > 0) return nearName(pick(f.names));
  return pick(NAMES);
}

// Each value's Str, made once: allocations are what these runs spend most on (as-pect's rtrace
// records a stack trace for each).
const strs = new Map<string, usize>();
function strOf(s: string): Str {
  if (!strs.has(s)) strs.set(s, changetype<usize>(str(s)));
  return changetype<Str>(strs.get(s));
}

function request(user: string | null, client: string, topic: string, access: i32): string {
  const who = user === null ? "anonymous" : "username \"" + user + "\"";
  const what = access == Access.Read ? "READ" : access == Access.Write ? "WRITE" : access == Access.Subscribe ? "SUBSCRIBE"
    : access == Access.Unsubscribe ? "UNSUBSCRIBE" : "access " + access.toString();
  return "-- " + who + ", client id \"" + client + "\": " + what + " \"" + topic + "\"";
}

function verdict(d: Decision): string {
  return d == Decision.Allow ? "Allow" : d == Decision.Deny ? "Deny" : "Defer";
}

// What the runs below compared.
class Tally {
  refused: i32 = 0;
  decisions: i32 = 0;
}

// Generates `files` acl_files with `requests` requests each and compares the two on all of it.
function agreeOnFiles(files: i32, requests: i32): Tally {
  const tally = new Tally();
  for (let n = 0; n < files; n++) {
    const f = randomFile();
    const text = f.text;
    const spec = AclSpec.parse(text);
    const acl = Acl.parse(Uint8Array.wrap(String.UTF8.encode(text)));
    const want = spec.error;
    const got = acl.error;
    const wantText = want === null ? "no error" : "line " + want.line.toString() + ": " + want.message;
    const gotText = got === null ? "no error" : "line " + got.line.toString() + ": " + got.message;
    if (gotText != wantText) expect(gotText).toBe(wantText, "acl_file:\n" + text);
    if (want !== null) {
      tally.refused++;
      continue;
    }
    const warnings = spec.warnings.join("\n");
    if (acl.warnings.join("\n") != warnings) expect(acl.warnings.join("\n")).toBe(warnings, "acl_file:\n" + text);
    install(acl);
    for (let k = 0; k < requests; k++) {
      const user = randomUser(f);
      const client = oneIn(8) && user !== null ? user : pick(CLIENTS);
      const access = ACCESS[rnd(ACCESS.length)];
      // A subscription's topic is a filter, wildcards and all.
      const subscribes = access == Access.Subscribe || access == Access.Unsubscribe;
      const topic = subscribes && oneIn(2) ? randomFilter(false)
        : f.filters.length > 0 && oneIn(2) ? topicFrom(pick(f.filters), user, client)
        : randomTopic(user === null ? "u" : user, client);
      const expected = spec.decide(client, user, topic, access);
      const u: Str | null = user === null ? null : strOf(user);
      const decided = acl_check(strOf(client), u, strOf(topic), access);
      // Only a disagreement pays for the message.
      if (decided != expected) expect(verdict(decided)).toBe(verdict(expected), "acl_file:\n" + text + "\n" + request(user, client, topic, access));
      tally.decisions++;
    }
  }
  return tally;
}

describe("the fast path decides as spec.ts", () => {
  it("on generated acl_files, clients and requests", () => {
    const t = agreeOnFiles(150, 30);
    // The generator must keep producing both kinds of file.
    expect(t.refused).toBeGreaterThan(15);
    expect(t.decisions).toBeGreaterThan(2500);
  });

  it("with long levels, names and client ids, and deep filters", () => {
    const levels = LEVELS;
    const names = NAMES;
    const clients = CLIENTS;
    LEVELS = LONG_LEVELS;
    NAMES = LONG_NAMES;
    CLIENTS = LONG_CLIENTS;
    MAX_LEVELS = 9;
    const t = agreeOnFiles(80, 30);
    LEVELS = levels;
    NAMES = names;
    CLIENTS = clients;
    MAX_LEVELS = 4;
    expect(t.decisions).toBeGreaterThan(1200);
  });
});

// The specification says what assembly/README.md says ("Semantics"), example by example.
describe("spec.ts on the README's examples", () => {
  it("parses as mosquitto 2.0.11", () => {
    const bad = AclSpec.parse("# a\n\nuser bob\ntopic read a\n\n\ntopic Read b\n").error;
    expect(bad).not.toBeNull();
    expect(bad!.line).toBe(7);
    expect(bad!.message).toBe("invalid topic access type \"Read\"");
    expect(AclSpec.parse("\ttopic read x\n").error!.message).toBe("invalid line \"\ttopic\"");
    expect(AclSpec.parse("topic read x\n# \0\n").error!.line).toBe(2);
    const lone = AclSpec.parse("topic read\ntopic read  a b \r\n");
    expect(lone.error).toBeNull();
    expect(lone.anonymousRules[0].filter).toBe("read");
    expect(lone.anonymousRules[0].access).toBe(Access.Read | Access.Write);
    expect(lone.anonymousRules[1].filter).toBe("a b");
    expect(AclSpec.parse("user a\ntopic x\nuser b\nuser a\ntopic y\n").rulesOf("a").length).toBe(2);
  });

  it("decides as mosquitto 2.0.11", () => {
    const acl = AclSpec.parse("user alice\ntopic read a/#\npattern deny a/%u\npattern read mid%u/#\npattern read p/%u/#\n");
    expect(acl.decide("c", "alice", "a/alice", Access.Read)).toBe(Decision.Allow);
    expect(acl.decide("c", "bob", "a/bob", Access.Read)).toBe(Decision.Deny);
    expect(acl.decide("c", "bob", "midbob/1", Access.Read)).toBe(Decision.Allow);
    expect(acl.decide("c", "me/x", "p/me/x/1", Access.Read)).toBe(Decision.Allow);
    expect(acl.decide("c", "b+", "midb+/1", Access.Read)).toBe(Decision.Deny);
    expect(acl.decide("c", "bob", "anything", Access.Subscribe)).toBe(Decision.Allow);
    expect(acl.decide("c", null, "midnull/1", Access.Read)).toBe(Decision.Deny);
    expect(acl.decide("c", "alice", "a", Access.Read)).toBe(Decision.Allow);
    expect(AclSpec.parse("topic #\n").decide("c", null, "$SYS/x", Access.Read)).toBe(Decision.Deny);
  });
});

// The SDK's topicMatchesPattern is what a policy author gets for the same rule; it must give the
// broker's answer for one pattern too (the default policy does not call it: its compiled token
// programs skip re-reading the pattern text on every check).
describe("SDK topicMatchesPattern vs spec.ts on one pattern", () => {
  it("agrees on random patterns, clients and topics", () => {
    const one = new AclSpec();
    let checked = 0;
    for (let k = 0; k < 1500; k++) {
      const p = randomFilter(true);
      // An acl_file of that one pattern, read access.
      one.patterns = [new AclSpecRule(Access.Read, p)];
      const user: string | null = rnd(5) == 0 ? null : pick(NAMES);
      const client = pick(CLIENTS);
      const topic = randomTopic(user === null ? "u" : user, client);
      const want = one.decide(client, user, topic, Access.Read) == Decision.Allow;
      const t = strOf(topic);
      const u: Str | null = user === null ? null : strOf(user);
      const c = strOf(client);
      const got = topicMatchesPattern(p, t, u, c);
      if (got != want || topicMatchesPatternStr(strOf(p), t, u, c) != want) {
        const who = user === null ? "(anonymous)" : "\"" + user + "\"";
        expect(got).toBe(want, p + " -- " + who + " client " + client + " topic " + topic);
        expect(topicMatchesPatternStr(strOf(p), t, u, c)).toBe(want, "Str form: " + p + " topic " + topic);
      }
      checked++;
    }
    expect(checked).toBe(1500);
  });
});
