import { topicMatchesSub, topicMatchesSubStr, hostTopicMatchesSub, topicUnder, isTopicLevel } from "../index";
import { str, allocations } from "../testing";

// [filter, topic, expected]: "1" match, "0" no match, "q" mosquitto 2.0.11 answers "match" for
// this invalid filter but the SDK refuses every invalid filter (see topic.ts).
const CASES: string[][] = [
  // plain and single-level wildcard
  ["foo/bar", "foo/bar", "1"],
  ["foo/+", "foo/bar", "1"],
  ["foo/+/baz", "foo/bar/baz", "1"],
  ["foo/bar", "foo", "0"],
  ["foo", "foo/bar", "0"],
  ["foo/+", "foo/bar/baz", "0"],
  ["foo/+/baz", "foo/bar/bar", "0"],
  ["foo/+", "foo", "0"],
  ["+", "foo", "1"],
  ["+", "foo/bar", "0"],
  ["+/+", "foo/bar", "1"],
  ["a/b", "a/b/", "0"],
  ["a/b/", "a/b", "0"],
  // multi-level wildcard, including the parent level
  ["#", "foo/bar/baz", "1"],
  ["#", "/foo/bar", "1"],
  ["/#", "/foo/bar", "1"],
  ["/#", "foo/bar", "0"],
  ["foo/#", "foo", "1"],
  ["foo/#", "foo/", "1"],
  ["foo/#", "foobar", "0"],
  ["foo/+/#", "foo/bar/baz", "1"],
  ["foo/+/#", "foo/bar", "1"],
  ["foo/+/#", "foo", "0"],
  ["foo/+/#", "fo2/bar/baz", "0"],
  ["A/B/+/#", "A/B/B/C", "1"],
  ["test/6/#", "test/3", "0"],
  // empty levels
  ["a/+", "a/", "1"],
  ["+/+", "/a", "1"],
  ["/+", "/", "1"],
  ["+/", "a/", "1"],
  ["+", "/", "0"],
  ["a//b", "a//b", "1"],
  ["a/+/b", "a//b", "1"],
  ["+/+/+", "//", "1"],
  ["/", "/", "1"],
  ["//", "/", "0"],
  ["a/+/+", "a/", "0"],
  // $-topics are not matched by a leading wildcard
  ["#", "$SYS/bar", "0"],
  ["+/bar", "$SYS/bar", "0"],
  ["+/#", "$SYS", "0"],
  ["#", "$", "0"],
  ["$SYS/bar", "$SYS/bar", "1"],
  ["$SYS/#", "$SYS/broker/uptime", "1"],
  ["$SYS/#", "$SYS", "1"],
  ["$SYS/+", "$SYS/x", "1"],
  ["$BOB/bar", "$SYS/bar", "0"],
  ["$SYS/bar", "SYS/bar", "0"],
  ["foo/#", "foo/$bar", "1"],
  ["foo/+/baz", "foo/$bar/baz", "1"],
  // invalid filters never match
  ["foo#", "foo", "0"],
  ["foo/#/bar", "foo/x/bar", "0"],
  ["#/a", "x/a", "0"],
  ["/#a", "/#a", "0"],
  ["a+", "ab", "0"],
  ["+a", "xa", "0"],
  ["a/b+", "a/bc", "0"],
  ["a/+b/c", "a/xb/c", "0"],
  ["##", "x", "0"],
  ["a/+/#b", "a/x", "q"],
  ["a/+/#/c", "a/x", "q"],
  ["", "a", "0"],
  // invalid topics (empty, or holding a wildcard) never match
  ["a", "", "0"],
  ["#", "a/+", "0"],
  ["#", "a/#", "0"],
  ["a/+", "a/#", "0"],
  ["+", "+", "0"],
  ["a/#", "a/b+", "0"],
  // UTF-8
  ["ü/+", "ü/x", "1"],
  ["häuser/+/temp", "häuser/küche/temp", "1"],
  ["é", "e", "0"],
  ["e", "é", "0"],
  ["𝄞/#", "𝄞/a", "1"],
  ["𝄞", "𝄢", "0"],
];

describe("topicMatchesSub", () => {
  it("answers every case of the table", () => {
    for (let i = 0; i < CASES.length; i++) {
      const c = CASES[i];
      const want = c[2] == "1";
      expect(topicMatchesSub(c[0], str(c[1]))).toBe(want, "'" + c[0] + "' vs '" + c[1] + "'");
    }
  });

  it("gives the same answers with the filter as bytes", () => {
    for (let i = 0; i < CASES.length; i++) {
      const c = CASES[i];
      const want = c[2] == "1";
      expect(topicMatchesSubStr(str(c[0]), str(c[1]))).toBe(want, "'" + c[0] + "' vs '" + c[1] + "'");
    }
  });

  it("agrees with the host's mosquitto_topic_matches_sub except on the listed quirks", () => {
    for (let i = 0; i < CASES.length; i++) {
      const c = CASES[i];
      const host = hostTopicMatchesSub(str(c[0]), str(c[1]));
      const hostMatch = host == 1;
      if (c[2] == "q") {
        expect(hostMatch).toBe(true, "quirk still present: '" + c[0] + "' vs '" + c[1] + "'");
      } else {
        expect(hostMatch).toBe(c[2] == "1", "host: '" + c[0] + "' vs '" + c[1] + "'");
      }
    }
  });

  it("reports invalid filters and topics as -1 from the host", () => {
    expect(hostTopicMatchesSub(str(""), str("a"))).toBe(-1);
    expect(hostTopicMatchesSub(str("a"), str(""))).toBe(-1);
    expect(hostTopicMatchesSub(str("#"), str("a/+"))).toBe(-1);
    expect(hostTopicMatchesSub(str("foo/#/bar"), str("foo/x"))).toBe(-1);
  });

  it("does not allocate", () => {
    const topic = str("sensors/küche/temp");
    const sub = str("sensors/+/temp");
    const before = allocations();
    let n = 0;
    for (let i = 0; i < 1000; i++) {
      if (topicMatchesSub("sensors/+/temp", topic)) n++;
      if (topicMatchesSub("sensors/küche/#", topic)) n++;
      if (topicMatchesSubStr(sub, topic)) n++;
      if (topicMatchesSub("other/#", topic)) n++;
    }
    const after = allocations();
    expect(n).toBe(3000);
    expect(after).toBe(before);
  });
});

describe("topicUnder and isTopicLevel", () => {
  it("takes a level itself and what lies below it, nothing else", () => {
    expect(topicUnder(str("inbox"), "inbox")).toBe(true);
    expect(topicUnder(str("inbox/a/b"), "inbox")).toBe(true);
    expect(topicUnder(str("inboxes"), "inbox")).toBe(false);
    expect(topicUnder(str("in"), "inbox")).toBe(false);
    expect(topicUnder(str("x/inbox"), "inbox")).toBe(false);
    expect(topicUnder(str("a/b/c"), "a/b")).toBe(true);
  });

  it("accepts a name as one level only without separators, wildcards or NUL", () => {
    expect(isTopicLevel(str("alice"))).toBe(true);
    expect(isTopicLevel(str("café"))).toBe(true);
    expect(isTopicLevel(str(""))).toBe(false);
    expect(isTopicLevel(str("a/b"))).toBe(false);
    expect(isTopicLevel(str("+"))).toBe(false);
    expect(isTopicLevel(str("a#"))).toBe(false);
    expect(isTopicLevel(str("a\u0000b"))).toBe(false);
  });
});
