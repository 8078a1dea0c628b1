// Compiled ACL filters (assembly/load/compile.ts, check/match.ts): validation as mosquitto_sub_topic_check, matching as
// mosquitto_topic_matches_sub (compared with the host's implementation over a grid of filters and
// topics), and pattern substitution as mosquitto 2.0.11 does it (plain text, anywhere).
import { ByteBuf, IntBuf } from "../load/buffers";
import { compileFilter, validFilter } from "../load/compile";
import { matchFilter } from "../check/match";
import { beginCheck } from "../check/memo";
import { Str, hostTopicMatchesSub } from "../../sdk/assembly";
import { str } from "../../sdk/assembly/testing";

function valid(f: string): bool {
  const s = str(f);
  return validFilter(s.ptr, <i32>s.len);
}

// Compiles `filter` and matches `topic` against it, as the hot path does.
function matches(filter: string, topic: string, substitute: bool = false, user: Str | null = null, client: Str | null = null): bool {
  const arena = new ByteBuf();
  const code = new IntBuf();
  const f = str(filter);
  const c = compileFilter(f.ptr, <i32>f.len, substitute, arena, code);
  const a = arena.finish();
  const prog = code.finish();
  const t = str(topic);
  if (t.len == 0) return false;
  const dollar: i32 = t.byteAt(0) == 0x24 ? 1 : 0;
  beginCheck(); // a new topic and values: what the last match learned no longer holds
  return matchFilter(changetype<usize>(prog) + (<usize>c.index << 2), changetype<usize>(a), t.ptr, <i32>t.len, dollar, user, client);
}

function pattern(p: string, topic: string, user: string | null, client: string): bool {
  return matches(p, topic, true, user === null ? null : str(user), str(client));
}

const FILTERS: string[] = [
  "#", "+", "a", "a/#", "a/+", "+/#", "+/+", "a/b", "a/+/c", "/#", "/", "a/", "+/", "/+", "$SYS/#",
  "$SYS", "+/b", "a//b", "a/+/#", "a/b/c/d/e/f/g/h/i", "café/#", "ab/#", "a/bcdefghijklmnop/#", "$SYS/+",
];
const TOPICS: string[] = [
  "a", "a/b", "a/b/c", "/", "/a", "a/", "a//b", "$SYS", "$SYS/x", "$SYS/x/y", "b", "ab", "a/bc", "x/b",
  "a/x/c", "a/b/c/d/e/f/g/h/i", "a/b/c/d/e/f/g/h/j", "café/x", "cafe/x", "a/bcdefghijklmnop", "a/bcdefghijklmnoq/z",
];

describe("validFilter (mosquitto_sub_topic_check)", () => {
  it("accepts wildcards only as whole levels, # only last", () => {
    for (let i = 0; i < FILTERS.length; i++) expect(valid(FILTERS[i])).toBe(true, FILTERS[i]);
    expect(valid("a/#/b")).toBe(false);
    expect(valid("a/+b")).toBe(false);
    expect(valid("a+")).toBe(false);
    expect(valid("#a")).toBe(false);
    expect(valid("a#")).toBe(false);
    expect(valid("%u+")).toBe(false);
    expect(valid("")).toBe(false);
    expect(valid("a b/c")).toBe(true);
    expect(valid("%u/%c")).toBe(true);
  });
});

describe("matchFilter", () => {
  it("agrees with mosquitto_topic_matches_sub on every filter/topic pair of the grid", () => {
    for (let i = 0; i < FILTERS.length; i++) {
      for (let j = 0; j < TOPICS.length; j++) {
        const want = hostTopicMatchesSub(str(FILTERS[i]), str(TOPICS[j])) == 1;
        expect(matches(FILTERS[i], TOPICS[j])).toBe(want, FILTERS[i] + " vs " + TOPICS[j]);
      }
    }
  });

  it("follows mosquitto on the cases that matter for ACLs", () => {
    expect(matches("a/#", "a")).toBe(true); // # includes the parent level
    expect(matches("a/+", "a/")).toBe(true); // + matches an empty level
    expect(matches("#", "$SYS/x")).toBe(false); // wildcards never match $ topics
    expect(matches("+/x", "$SYS/x")).toBe(false);
    expect(matches("$SYS/#", "$SYS")).toBe(true);
    expect(matches("a/b", "a/bc")).toBe(false);
  });

  it("treats %u and %c as literal text in topic rules", () => {
    expect(matches("users/%u/#", "users/%u/x")).toBe(true);
    expect(matches("users/%u/#", "users/alice/x", false, str("alice"), str("c"))).toBe(false);
  });
});

describe("pattern substitution (mosquitto 2.0.11: plain text, anywhere)", () => {
  it("substitutes whole levels", () => {
    expect(pattern("users/%u/#", "users/alice/x", "alice", "c1")).toBe(true);
    expect(pattern("users/%u/#", "users/alice", "alice", "c1")).toBe(true);
    expect(pattern("users/%u/#", "users/bob/x", "alice", "c1")).toBe(false);
    expect(pattern("users/%u/#", "users/alicex/y", "alice", "c1")).toBe(false);
    expect(pattern("clients/%c", "clients/c1", "alice", "c1")).toBe(true);
    expect(pattern("%u/%c/+", "alice/c1/x", "alice", "c1")).toBe(true);
    expect(pattern("%u/%c/+", "alice/c2/x", "alice", "c1")).toBe(false);
  });

  it("substitutes inside a level, as the real broker does", () => {
    expect(pattern("mid%u/#", "midbob/1", "bob", "c")).toBe(true);
    expect(pattern("top%c", "topc1", null, "c1")).toBe(true);
    expect(pattern("%%u", "%bob", "bob", "c")).toBe(true);
    expect(pattern("a%xb", "a%xb", "bob", "c")).toBe(true);
  });

  it("lets a value with / span levels, and an empty value leave an empty level", () => {
    expect(pattern("p/%u/#", "p/me/x/1", "me/x", "c")).toBe(true);
    expect(pattern("p/%u/#", "p//1", "", "c")).toBe(true);
  });

  it("applies the $ rule to the filter as it reads after substitution", () => {
    expect(pattern("%u/#", "$x/1", "$x", "c")).toBe(true);
    expect(pattern("%u/#", "$x/1", "x", "c")).toBe(false);
    expect(pattern("%u/#", "x/1", "$x", "c")).toBe(false);
    expect(pattern("%u%c/#", "$c/1", "", "$c")).toBe(true);
    expect(pattern("+/%u", "$foo/alice", "alice", "c")).toBe(false);
  });

  it("never matches a %u pattern without a username", () => {
    expect(pattern("users/%u/#", "users//x", null, "c")).toBe(false);
  });

  it("compares long values and literals exactly", () => {
    const long = "u0123456789abcdefghij";
    expect(pattern("users/%u/x", "users/" + long + "/x", long, "c")).toBe(true);
    expect(pattern("users/%u/x", "users/u0123456789abcdefghiJ/x", long, "c")).toBe(false);
    expect(pattern("a/bcdefghijklmnop/%c", "a/bcdefghijklmnop/c", null, "c")).toBe(true);
    expect(pattern("a/bcdefghijklmnop/%c", "a/bcdefghijklmnoq/c", null, "c")).toBe(false);
  });
});
