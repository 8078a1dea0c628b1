// Randomised check of the compiled acl_file (acl.ts, hot.ts: quick-reject keys, shape fast paths,
// token programs) against a direct model of mosquitto 2.0.11's check written here with strings:
// textual %u/%c substitution and the host's mosquitto_topic_matches_sub. Fixed seed, so a
// failure is reproducible; the failing case is printed in the message.
import { Acl } from "../acl";
import { acl_check, install } from "../hot";
import { Decision, Str, hostTopicMatchesSub, topicMatchesPattern, topicMatchesPatternStr } from "../../sdk/assembly";
import { str } from "../../sdk/assembly/testing";

// acl_check's answer as a bool: allowed or not.
function aclAllows(clientid: Str, username: Str | null, topic: Str, access: i32): bool {
  return acl_check(clientid, username, topic, access) == Decision.Allow;
}

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

let LEVELS: string[] = ["a", "b", "ab", "users", "alice", "", "c1", "x", "longer-level-name", "alx", "c1x"];
let NAMES: string[] = ["alice", "bob", "al", "a/b", "$x", "", "users", "longer-user-name-1", "a+b"];
let CLIENTS: string[] = ["c1", "alice", "c", "client-with-a-long-id", "$c", "c#"];
// Filters this many levels long at most.
let MAX_LEVELS = 4;

// The second round: long levels, names and client ids (past the word compares and into the
// memo's level scans and value boxes: assembly/memo.ts), values holding "/" and repeating the
// levels, deeper filters with runs of `+`.
const LONG_LEVELS: string[] = ["a", "x", "", "level-of-twenty-bytes", "x/x", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "a/b/c/d/e/f/g/h/i", "alice-the-user-of-long-name"];
const LONG_NAMES: string[] = ["alice-the-user-of-long-name", "x/x/x/x/x/x/x/x/x/x/x", "x/x/x/x/x/x/x/x/x/x/y", "level-of-twenty-bytes/x",
  "a/b/c/d/e/f/g/h/i", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "alice", "x/x+x/x/x/x/x/x/x/x/x", "$level-of-twenty-bytes"];
const LONG_CLIENTS: string[] = ["x/x/x/x/x/x/x/x/x/x/x", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/x", "client-with-a-long-id-0123456789", "a/b/c/d/e/f/g/h/i",
  "c1", "x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x#"];
const ACCESS: string[] = ["read", "write", "readwrite", "deny"];

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

function bits(access: string): i32 {
  if (access == "read") return 1;
  if (access == "write") return 2;
  if (access == "readwrite") return 3;
  return 0;
}

// mosquitto's substitution: "%c" always, "%u" when there is a username, left to right.
function substitute(p: string, user: string | null, client: string): string {
  let out = "";
  let from = 0;
  let i = p.indexOf("%");
  while (i >= 0 && i < p.length - 1) {
    const d = p.charCodeAt(i + 1);
    if (d == 0x63 || (d == 0x75 && user !== null)) {
      out += p.substring(from, i) + (d == 0x63 ? client : user!);
      from = i + 2;
      i = p.indexOf("%", from);
    } else {
      i = p.indexOf("%", i + 1);
    }
  }
  return out + p.substring(from);
}

function hostMatch(filter: Str, topic: Str): bool {
  if (filter.len == 0) return false;
  return hostTopicMatchesSub(filter, topic) == 1;
}

function hasWild(s: string): bool {
  return s.includes("+") || s.includes("#");
}

// The model: mosquitto 2.0.11's acl check, over the rules as written (`ownStr`: the topic
// rules' filters as Str, made once per configuration).
function model(own: string[][], ownStr: Str[], pats: string[][], user: string | null, client: string, topic: string, t: Str, access: i32): bool {
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < own.length; i++) {
      const a = bits(own[i][0]);
      if ((pass == 0) != (a == 0)) continue; // denies first
      if (topic.charAt(0) == "$" && own[i][1].charAt(0) != "$") continue;
      if (!hostMatch(ownStr[i], t)) continue;
      if (a == 0) return false;
      if (a & access) return true;
    }
  }
  if (pats.length == 0) return false;
  if (user !== null && hasWild(user)) return false;
  if (hasWild(client)) return false;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < pats.length; i++) {
      const a = bits(pats[i][0]);
      if ((pass == 0) != (a == 0)) continue;
      if (pats[i][1].includes("%u") && user === null) continue;
      if (!hostMatch(str(substitute(pats[i][1], user, client)), t)) continue;
      if (a == 0) return false;
      if (a & access) return true;
    }
  }
  return false;
}

// Checks `rounds` random configurations of 40 requests each against the model.
function agreeOnRandom(rounds: i32): void {
  let checked = 0;
  for (let round = 0; round < rounds; round++) {
    // One configuration: rules for "alice" and for anonymous clients, and patterns.
    const own: string[][] = [];
    const anon: string[][] = [];
    const pats: string[][] = [];
    let text = "";
    for (let i = rnd(4); i > 0; i--) {
      const r = [pick(ACCESS), randomFilter(false)];
      anon.push(r);
      text += "topic " + r[0] + " " + r[1] + "\n";
    }
    text += "user alice\n";
    for (let i = rnd(5); i > 0; i--) {
      const r = [pick(ACCESS), randomFilter(false)];
      own.push(r);
      text += "topic " + r[0] + " " + r[1] + "\n";
    }
    for (let i = rnd(5); i > 0; i--) {
      const r = [pick(ACCESS), randomFilter(true)];
      pats.push(r);
      text += "pattern " + r[0] + " " + r[1] + "\n";
    }
    const acl = Acl.parse(Uint8Array.wrap(String.UTF8.encode(text)));
    expect(acl.error).toBeNull(text);
    install(acl);
    const anonStr = anon.map<Str>((r: string[]) => str(r[1]));
    const ownStr = own.map<Str>((r: string[]) => str(r[1]));
    for (let k = 0; k < 40; k++) {
      const anonymous = rnd(4) == 0;
      const user: string | null = anonymous ? null : rnd(2) == 0 ? "alice" : pick(NAMES);
      const client = pick(CLIENTS);
      const topic = randomTopic(user === null ? "u" : user, client);
      const access = 1 + rnd(2);
      const rules = user === null ? anon : user == "alice" ? own : [];
      const rulesStr = user === null ? anonStr : user == "alice" ? ownStr : [];
      const t = str(topic);
      const want = model(rules, rulesStr, pats, user, client, topic, t, access);
      const u: Str | null = user === null ? null : str(user);
      const got = aclAllows(str(client), u, t, access);
      if (got != want) {
        // Only a disagreement pays for the message.
        const who = user === null ? "(anonymous)" : "\"" + user + "\"";
        expect(got).toBe(want, text + "-- " + who + " client " + client + " " + (access == 1 ? "reads " : "writes ") + topic);
      }
      checked++;
    }
  }
  expect(checked).toBe(rounds * 40);
}

describe("compiled acl_file vs a model of mosquitto 2.0.11", () => {
  it("agrees on random rules, clients and topics", () => {
    agreeOnRandom(40);
  });

  it("agrees with long levels, names and client ids, and deep filters", () => {
    const levels = LEVELS;
    const names = NAMES;
    const clients = CLIENTS;
    LEVELS = LONG_LEVELS;
    NAMES = LONG_NAMES;
    CLIENTS = LONG_CLIENTS;
    MAX_LEVELS = 9;
    agreeOnRandom(60);
    LEVELS = levels;
    NAMES = names;
    CLIENTS = clients;
    MAX_LEVELS = 4;
  });
});

// The SDK's topicMatchesPattern is what a policy author gets for the same rule; it must give the
// broker's answer for one pattern too (the default policy does not call it: its compiled token
// programs skip re-reading the pattern text on every check).
describe("SDK topicMatchesPattern vs the model of one mosquitto 2.0.11 pattern", () => {
  it("agrees on random patterns, clients and topics", () => {
    let checked = 0;
    for (let k = 0; k < 1500; k++) {
      const p = randomFilter(true);
      const user: string | null = rnd(5) == 0 ? null : pick(NAMES);
      const client = pick(CLIENTS);
      const topic = randomTopic(user === null ? "u" : user, client);
      const t = str(topic);
      let want = !(user !== null && hasWild(user)) && !hasWild(client);
      if (want && p.includes("%u") && user === null) want = false;
      if (want) want = hostMatch(str(substitute(p, user, client)), t);
      const u: Str | null = user === null ? null : str(user);
      const c = str(client);
      const got = topicMatchesPattern(p, t, u, c);
      if (got != want || topicMatchesPatternStr(str(p), t, u, c) != want) {
        const who = user === null ? "(anonymous)" : "\"" + user + "\"";
        expect(got).toBe(want, p + " -- " + who + " client " + client + " topic " + topic);
        expect(topicMatchesPatternStr(str(p), t, u, c)).toBe(want, "Str form: " + p + " topic " + topic);
      }
      checked++;
    }
    expect(checked).toBe(1500);
  });
});
