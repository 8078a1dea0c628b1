// The default policy's hooks (assembly/index.ts) with the fixture files, and password_file
// parsing (assembly/load/passwd.ts). Password hashes in fixtures/passwd were made by mosquitto_passwd
// (alice and café: $7$, bob: $6$); the $argon2id$ ones come from tests/fixtures/argon2id.txt (the
// argon2 tool). The host checks them as the plugin does.
import { acl_check, security_cleanup, security_init, session_check, unpwd_check } from "../index";
import { Passwords } from "../load/passwd";
import { Access, Decision, Options } from "../../sdk/assembly";
import { allocations, clearLogs, logCount, logMessage, options, setOptionFile, str } from "../../sdk/assembly/testing";

const FIX = "assembly/__tests__/fixtures/";

// Options naming fixture files; each `*_file` value is also registered with the test host.
function opts(pairs: string[][]): Options {
  for (let i = 0; i < pairs.length; i++) {
    if (pairs[i][0].endsWith("_file")) setOptionFile(pairs[i][0], pairs[i][1]);
  }
  return options(pairs);
}

function standard(): Options {
  return opts([["wasm_module", "default.wasm"], ["password_file", FIX + "passwd"], ["acl_file", FIX + "acl"]]);
}

function loggedContaining(s: string): bool {
  for (let i = 0; i < logCount(); i++) {
    const m = logMessage(i);
    if (m !== null && m.includes(s)) return true;
  }
  return false;
}

function pwError(text: string): string {
  const e = Passwords.parse(Uint8Array.wrap(String.UTF8.encode(text))).error;
  return e === null ? "" : e.line.toString() + ": " + e.message;
}

describe("security_init", () => {
  afterEach(() => {
    security_cleanup(false);
    clearLogs();
  });

  it("loads both files and says what it loaded", () => {
    expect(security_init(standard(), false)).toBe(true);
    expect(loggedContaining("3 users, 6 topic rules for 2 users and anonymous, 2 patterns")).toBe(true);
  });

  it("refuses a malformed acl_file, naming file and line", () => {
    const o = opts([["password_file", FIX + "passwd"], ["acl_file", FIX + "bad.acl"]]);
    expect(security_init(o, false)).toBe(false);
    expect(loggedContaining("acl_file " + FIX + "bad.acl line 3: invalid topic access type \"bogus\"")).toBe(true);
  });

  it("refuses a malformed password_file, naming file and line", () => {
    expect(security_init(opts([["password_file", FIX + "bad.passwd"]]), false)).toBe(false);
    expect(loggedContaining("password_file " + FIX + "bad.passwd line 1:")).toBe(true);
  });

  it("refuses a file it cannot read", () => {
    expect(security_init(opts([["acl_file", FIX + "missing.acl"]]), false)).toBe(false);
    expect(loggedContaining("cannot read acl_file (" + FIX + "missing.acl): not found")).toBe(true);
  });

  it("refuses an allow_anonymous that is not true or false", () => {
    expect(security_init(opts([["allow_anonymous", "yes"]]), false)).toBe(false);
  });

  it("keeps the configuration in force when a reload fails", () => {
    expect(security_init(standard(), false)).toBe(true);
    security_cleanup(true);
    expect(security_init(opts([["acl_file", FIX + "bad.acl"]]), true)).toBe(false);
    expect(acl_check(str("c"), str("alice"), str("alice/x"), Access.Write)).toBe(Decision.Allow);
    expect(unpwd_check(str("alice"), str("alice-pw"))).toBe(Decision.Allow);
  });

  it("replaces the configuration on a successful reload", () => {
    expect(security_init(standard(), false)).toBe(true);
    security_cleanup(true);
    expect(security_init(opts([["acl_file", FIX + "acl"]]), true)).toBe(true);
    // No password_file any more: usernames are left to the broker.
    expect(unpwd_check(str("alice"), str("alice-pw"))).toBe(Decision.Defer);
  });

  it("does not grow memory over repeated reloads", () => {
    const o = standard();
    expect(security_init(o, false)).toBe(true);
    // A few reloads first: the collector's and allocator's own working set settles.
    for (let i = 0; i < 20; i++) {
      security_cleanup(true);
      security_init(o, true);
    }
    const pages = memory.size();
    // 250 reloads: anything kept per reload from 262 bytes up (a copy of the tables, a Str never
    // freed with its heap header) adds a 64 KiB page.
    let ok = 0;
    for (let i = 0; i < 250; i++) {
      security_cleanup(true);
      if (security_init(o, true)) ok++;
    }
    expect(ok).toBe(250);
    expect(memory.size()).toBe(pages);
  });

  it("denies everything once unloaded", () => {
    expect(security_init(standard(), false)).toBe(true);
    security_cleanup(false);
    expect(acl_check(str("c"), str("alice"), str("alice/x"), Access.Write)).toBe(Decision.Deny);
    expect(unpwd_check(str("alice"), str("alice-pw"))).toBe(Decision.Deny);
  });
});

describe("unpwd_check", () => {
  beforeEach(() => {
    security_init(standard(), false);
  });
  afterEach(() => {
    security_cleanup(false);
  });

  it("checks both hash kinds", () => {
    expect(unpwd_check(str("alice"), str("alice-pw"))).toBe(Decision.Allow);
    expect(unpwd_check(str("bob"), str("bob-pw"))).toBe(Decision.Allow);
    expect(unpwd_check(str("café"), str("café-pw"))).toBe(Decision.Allow);
  });

  it("denies wrong, empty and missing passwords and unknown users", () => {
    expect(unpwd_check(str("alice"), str("bob-pw"))).toBe(Decision.Deny);
    expect(unpwd_check(str("alice"), str(""))).toBe(Decision.Deny);
    expect(unpwd_check(str("alice"), null)).toBe(Decision.Deny);
    expect(unpwd_check(str("bob"), str("BOB-PW"))).toBe(Decision.Deny);
    expect(unpwd_check(str("mallory"), str("x"))).toBe(Decision.Deny);
    expect(unpwd_check(str("alic"), str("alice-pw"))).toBe(Decision.Deny);
    expect(unpwd_check(str("cafe"), str("café-pw"))).toBe(Decision.Deny);
  });

  it("leaves anonymous clients to the broker unless allow_anonymous is set", () => {
    expect(unpwd_check(null, null)).toBe(Decision.Defer);
    security_init(opts([["allow_anonymous", "true"]]), true);
    expect(unpwd_check(null, null)).toBe(Decision.Allow);
    security_init(opts([["allow_anonymous", "false"]]), true);
    expect(unpwd_check(null, null)).toBe(Decision.Deny);
  });
});

describe("acl_check", () => {
  beforeEach(() => {
    security_init(standard(), false);
  });
  afterEach(() => {
    security_cleanup(false);
  });

  it("grants every SUBSCRIBE and UNSUBSCRIBE, as mosquitto's acl_file does", () => {
    expect(acl_check(str("c"), str("bob"), str("#"), Access.Subscribe)).toBe(Decision.Allow);
    expect(acl_check(str("c"), null, str("$SYS/#"), Access.Unsubscribe)).toBe(Decision.Allow);
  });

  it("decides READ and WRITE by the acl_file", () => {
    expect(acl_check(str("c"), str("alice"), str("alice/x"), Access.Write)).toBe(Decision.Allow);
    expect(acl_check(str("c"), str("alice"), str("shared/secret/x"), Access.Read)).toBe(Decision.Deny);
    expect(acl_check(str("c"), str("bob"), str("bob/x"), Access.Read)).toBe(Decision.Deny);
    expect(acl_check(str("c"), str("bob"), str("users/bob/x"), Access.Read)).toBe(Decision.Allow);
    expect(acl_check(str("anon-1"), null, str("public/x"), Access.Read)).toBe(Decision.Allow);
    expect(acl_check(str("anon-1"), null, str("clients/anon-1/x"), Access.Read)).toBe(Decision.Allow);
  });

  it("allows everything without an acl_file", () => {
    security_init(opts([["password_file", FIX + "passwd"]]), true);
    expect(acl_check(str("c"), str("bob"), str("anything"), Access.Write)).toBe(Decision.Allow);
  });

  it("never allocates", () => {
    const c = str("c-1");
    const u = str("alice");
    const t1 = str("users/alice/a/b");
    const t2 = str("shared/secret/x");
    const t3 = str("clients/c-1/x");
    const before = allocations();
    for (let i = 0; i < 100; i++) {
      acl_check(c, u, t1, Access.Write);
      acl_check(c, u, t2, Access.Read);
      acl_check(c, null, t3, Access.Read);
      acl_check(c, u, t1, Access.Subscribe);
    }
    expect(allocations()).toBe(before);
  });
});

describe("password_file parsing", () => {
  const H7 = "$7$101$m1SgznKQ7jaYh0tA$kbywHHwQXIMQ+xWgVoKh4p96wrfsTsoMwQ4O1p7ncWNj/axd9FXuviQEaGhbJpZAsNJ817AMI+0YfFOb8cnwyw==";

  it("accepts mosquitto_passwd output, comments, blank lines, CRLF and blanks around fields", () => {
    expect(pwError("# c\n\nalice:" + H7 + "\r\n \tbob : " + H7 + " \n")).toBe("");
    const pw = Passwords.parse(Uint8Array.wrap(String.UTF8.encode(" bob : " + H7 + "\n#:" + H7 + "\n")));
    expect(pw.count).toBe(1);
  });

  it("refuses malformed lines with their number", () => {
    expect(pwError("alice:" + H7 + "\nbob\n")).toBe("2: expected username:hash");
    expect(pwError(":" + H7)).toBe("1: empty username");
    expect(pwError("alice:plain")).toBe("1: password of user \"alice\" is not a $6$, $7$ or $argon2id$ mosquitto_passwd hash");
    expect(pwError("alice:")).toBe("1: password of user \"alice\" is not a $6$, $7$ or $argon2id$ mosquitto_passwd hash");
    expect(pwError("alice:$6$abc")).toBe("1: password of user \"alice\" is not a $6$, $7$ or $argon2id$ mosquitto_passwd hash");
    expect(pwError("alice:$7$x$abc$def")).toBe("1: password of user \"alice\" is not a $6$, $7$ or $argon2id$ mosquitto_passwd hash");
    expect(pwError("alice:$5$abc$def")).toBe("1: password of user \"alice\" is not a $6$, $7$ or $argon2id$ mosquitto_passwd hash");
    expect(pwError("alice:" + H7 + ":x")).toBe("1: more than one ':'");
    expect(pwError("alice:" + H7 + "\nalice:" + H7)).toBe("2: user \"alice\" is listed twice");
  });

  // tests/fixtures/argon2id.txt: "lanes" (password "pässwörd with spaces") and "minimal" ("x").
  const A_LANES = "$argon2id$v=19$m=1024,t=3,p=2$c2FsdHNhbHQ$xmydzFv2zhrxEf6niVtYGNDdY1j0S6Cft6sdKsywH+E";
  const A_MIN = "$argon2id$v=19$m=8,t=1,p=1$bWluaW1hbC1zYWx0$5DlURA";

  it("reads $argon2id$ lines beside $6$ and $7$ ones, and the host verifies them", () => {
    const pw = Passwords.parse(Uint8Array.wrap(String.UTF8.encode("alice:" + H7 + "\ncarol : " + A_LANES + " \r\ndave:" + A_MIN + "\n")));
    expect(pw.error).toBeNull();
    expect(pw.count).toBe(3);
    expect(pw.verify(str("carol"), str("pässwörd with spaces"))).toBe(true);
    expect(pw.verify(str("carol"), str("pässwörd with space"))).toBe(false);
    expect(pw.verify(str("dave"), str("x"))).toBe(true);
    expect(pw.verify(str("dave"), str("y"))).toBe(false);
    expect(pw.verify(str("dave"), null)).toBe(false);
    // Above the host's caps: well-formed here, never a match there.
    const over = "$argon2id$v=19$m=72,t=1,p=9$bGFuZXNjYXAtc2FsdC0xNg$2Gb2DZvtXBMK5Bfe66DFJBq3fuNPNU2DUQzhkX7R1tw";
    const big = Passwords.parse(Uint8Array.wrap(String.UTF8.encode("erin:" + over + "\n")));
    expect(big.error).toBeNull();
    expect(big.verify(str("erin"), str("secret"))).toBe(false);
  });

  it("refuses malformed $argon2id$ lines with their number, as the host would", () => {
    const bad = [
      "$argon2id$", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",
      "$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA", "$argon2id$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",
      "$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$AAAAAAAAAAA", "$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",
      "$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$AAAAAAAAAAA", "$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",
      "$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$AAAAAAAAAAA", "$argon2id$v=19$m=7,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",
      "$argon2id$v=19$m=1234567890,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$AAAAAAAAAAA",
      "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAA", "$argon2id$v=19$m=64,t=1,p=1$c2Fsd*NhbHQ$AAAAAAAAAAA",
      "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$" + "A".repeat(88), "$argon2id$v=19$m= 64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAA",
      "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAA$AAA",
    ];
    for (let i = 0; i < bad.length; i++) {
      expect(pwError("alice:" + H7 + "\nbob:" + bad[i])).toBe("2: password of user \"bob\" is not a $6$, $7$ or $argon2id$ mosquitto_passwd hash");
    }
  });
});

describe("session_check", () => {
  afterEach(() => {
    security_cleanup(false);
  });

  it("keeps the sessions of users in password_file and anonymous ones", () => {
    security_init(standard(), false);
    expect(session_check(str("c1"), str("alice"))).toBe(Decision.Allow);
    expect(session_check(str("c2"), str("bob"))).toBe(Decision.Allow);
    expect(session_check(str("c3"), str("café"))).toBe(Decision.Allow);
    expect(session_check(str("c4"), null)).toBe(Decision.Allow);
  });

  it("refuses users no longer in password_file after a reload", () => {
    security_init(standard(), false);
    security_cleanup(true);
    expect(security_init(opts([["password_file", FIX + "passwd.nobob"], ["acl_file", FIX + "acl"]]), true)).toBe(true);
    expect(session_check(str("c2"), str("bob"))).toBe(Decision.Deny);
    expect(session_check(str("c1"), str("alice"))).toBe(Decision.Allow);
    expect(session_check(str("c5"), str("mallory"))).toBe(Decision.Deny);
  });

  it("refuses a user named in acl_file only (no hash)", () => {
    security_init(opts([["password_file", FIX + "passwd.nobob"], ["acl_file", FIX + "acl"]]), false);
    expect(session_check(str("c2"), str("bob"))).toBe(Decision.Deny);
  });

  it("keeps every session without a password_file", () => {
    security_init(opts([["acl_file", FIX + "acl"]]), false);
    expect(session_check(str("c2"), str("bob"))).toBe(Decision.Allow);
    expect(session_check(str("c5"), str("mallory"))).toBe(Decision.Allow);
  });

  it("refuses every session once unloaded", () => {
    security_init(standard(), false);
    security_cleanup(false);
    expect(session_check(str("c1"), str("alice"))).toBe(Decision.Deny);
  });
});
