import { topicMatchesPattern, topicMatchesPatternStr, Str } from "../index";
import { str, allocations } from "../testing";

const BOB = str("bob");
const CID = str("sensor-7");

function pat(p: string, topic: string, user: Str | null, client: Str | null): bool {
  const a = topicMatchesPattern(p, str(topic), user, client);
  // The byte form must agree on every input.
  expect(topicMatchesPatternStr(str(p), str(topic), user, client)).toBe(a, "Str form of " + p);
  return a;
}

describe("topicMatchesPattern", () => {
  it("substitutes %u and %c as whole levels", () => {
    expect(pat("users/%u/#", "users/bob/inbox", BOB, CID)).toBe(true);
    expect(pat("users/%u/#", "users/bob", BOB, CID)).toBe(true);
    expect(pat("users/%u/#", "users/alice/inbox", BOB, CID)).toBe(false);
    expect(pat("users/%u/#", "users/bobby/inbox", BOB, CID)).toBe(false);
    expect(pat("users/%u/#", "users/bo/inbox", BOB, CID)).toBe(false);
    expect(pat("devices/%c/+", "devices/sensor-7/temp", BOB, CID)).toBe(true);
    expect(pat("devices/%c/+", "devices/sensor-8/temp", BOB, CID)).toBe(false);
    expect(pat("%u/%c", "bob/sensor-7", BOB, CID)).toBe(true);
    expect(pat("%c/%u", "bob/sensor-7", BOB, CID)).toBe(false);
    expect(pat("%u", "bob", BOB, CID)).toBe(true);
  });

  it("substitutes %u and %c anywhere in the text, as mosquitto 2.0.11 does", () => {
    expect(pat("mid%u/#", "midbob/1", BOB, CID)).toBe(true);
    expect(pat("mid%u/#", "midbob", BOB, CID)).toBe(true);
    expect(pat("mid%u/#", "mid%u/1", BOB, CID)).toBe(false);
    expect(pat("mid%u/#", "bob/1", BOB, CID)).toBe(false);
    expect(pat("users/x%u/#", "users/xbob/a", BOB, CID)).toBe(true);
    expect(pat("users/%ux", "users/bobx", BOB, CID)).toBe(true);
    expect(pat("users/%ux", "users/%ux", BOB, CID)).toBe(false);
    expect(pat("%u%c", "bobsensor-7", BOB, CID)).toBe(true);
    expect(pat("a/%u-%c/+", "a/bob-sensor-7/x", BOB, CID)).toBe(true);
    expect(pat("a/%u-%c/+", "a/bob-sensor-7", BOB, CID)).toBe(false);
    // `%%u` is a literal "%" then the username; other `%` sequences are literal.
    expect(pat("a/%%u", "a/%bob", BOB, CID)).toBe(true);
    expect(pat("a/%d", "a/%d", BOB, CID)).toBe(true);
    expect(pat("a/%", "a/%", BOB, CID)).toBe(true);
    // The pattern text must still be a valid filter: `%u+` is not.
    expect(pat("a/%u+", "a/bob+", BOB, CID)).toBe(false);
    expect(pat("a/%u#", "a/bob", BOB, CID)).toBe(false);
  });

  it("never matches when the value is absent", () => {
    expect(pat("users/%u/#", "users/bob/x", null, CID)).toBe(false);
    expect(pat("devices/%c", "devices/sensor-7", BOB, null)).toBe(false);
    // A pattern that does not use the absent value is unaffected.
    expect(pat("devices/%c", "devices/sensor-7", null, CID)).toBe(true);
  });

  it("never matches when the value holds a wildcard (CVE-2017-7650)", () => {
    expect(pat("users/%u/#", "users/+/x", str("+"), CID)).toBe(false);
    expect(pat("users/%u/#", "users/#", str("#"), CID)).toBe(false);
    expect(pat("users/%u/#", "users/a+b/x", str("a+b"), CID)).toBe(false);
    expect(pat("devices/%c", "devices/#", BOB, str("#"))).toBe(false);
    // ...and so does one in a value the pattern does not use: mosquitto 2.0.11 tries no
    // pattern at all for such a client.
    expect(pat("devices/%c", "devices/sensor-7", str("+"), CID)).toBe(false);
    expect(pat("public/#", "public/x", str("a#"), CID)).toBe(false);
    expect(pat("public/#", "public/x", BOB, str("c+"))).toBe(false);
    expect(pat("public/#", "public/x", null, str("#"))).toBe(false);
    expect(pat("public/#", "public/x", null, CID)).toBe(true);
  });

  it("keeps the wildcard and $ rules of topicMatchesSub", () => {
    expect(pat("users/+/%u", "users/x/bob", BOB, CID)).toBe(true);
    expect(pat("#", "$SYS/x", BOB, CID)).toBe(false);
    expect(pat("%u/#", "$SYS/x", str("$SYS"), CID)).toBe(true);
    expect(pat("%u/#", "$SYS/x", BOB, CID)).toBe(false);
    expect(pat("%u/#", "bob/x", str("$bob"), CID)).toBe(false);
    expect(pat("users/%u/#/x", "users/bob/a/x", BOB, CID)).toBe(false);
  });

  it("matches a value with '/' across levels, like mosquitto's textual substitution", () => {
    expect(pat("users/%u/#", "users/a/b/inbox", str("a/b"), CID)).toBe(true);
    expect(pat("users/%u", "users/a/b", str("a/b"), CID)).toBe(true);
    expect(pat("users/%u", "users/a", str("a/b"), CID)).toBe(false);
    expect(pat("users/%u/+", "users/a/b/c", str("a/b"), CID)).toBe(true);
    expect(pat("users/%u/+", "users/a/b", str("a/b"), CID)).toBe(false);
    expect(pat("%u/#", "a/b", str("a/"), CID)).toBe(false);
    expect(pat("%u/#", "a//b", str("a/"), CID)).toBe(true);
    expect(pat("p%u", "p/x", str("/x"), CID)).toBe(true);
  });

  it("handles an empty value as empty text", () => {
    expect(pat("%u$x", "$x", str(""), CID)).toBe(true);
    expect(pat("%u/#", "/x", str(""), CID)).toBe(true);
    expect(pat("users/%u/x", "users//x", str(""), CID)).toBe(true);
    expect(pat("users/%u/x", "users/a/x", str(""), CID)).toBe(false);
  });

  it("does not allocate", () => {
    const topic = str("users/bob/inbox");
    const before = allocations();
    let n = 0;
    for (let i = 0; i < 1000; i++) {
      if (topicMatchesPattern("users/%u/#", topic, BOB, CID)) n++;
      if (topicMatchesPattern("devices/%c/#", topic, BOB, CID)) n++;
    }
    const after = allocations();
    expect(n).toBe(1000);
    expect(after).toBe(before);
  });
});
