// acl_file parsing and decisions (assembly/load/acl.ts + check/hot.ts). The expected decisions are those of
// mosquitto 2.0.11 with the same acl_file, observed on the real broker (assembly/README.md lists
// the experiments); the integration tests compare the two brokers directly.
import { Acl } from "../load/acl";
import { acl_check, install } from "../check/hot";
import { Str, Access, Decision } from "../../sdk/assembly";
import { str } from "../../sdk/assembly/testing";

// acl_check's answer as a bool: allowed or not.
function aclAllows(clientid: Str, username: Str | null, topic: Str, access: i32): bool {
  return acl_check(clientid, username, topic, access) == Decision.Allow;
}

function parse(text: string): Acl {
  return Acl.parse(Uint8Array.wrap(String.UTF8.encode(text)));
}

// Installs `text` as the acl_file in force; fails the test if it does not parse.
function use(text: string): Acl {
  const acl = parse(text);
  const err = acl.error;
  expect(err).toBeNull(err !== null ? err.message : "");
  install(acl);
  return acl;
}

function can(user: string | null, client: string, topic: string, access: i32): bool {
  const u: Str | null = user === null ? null : str(user);
  return aclAllows(str(client), u, str(topic), access);
}

function reads(user: string | null, client: string, topic: string): bool {
  return can(user, client, topic, Access.Read);
}

function writes(user: string | null, client: string, topic: string): bool {
  return can(user, client, topic, Access.Write);
}

function errorLine(text: string): i32 {
  const e = parse(text).error;
  return e === null ? 0 : e.line;
}

function errorText(text: string): string {
  const e = parse(text).error;
  return e === null ? "" : e.message;
}

describe("acl_file parsing", () => {
  it("reports the first bad line with its number", () => {
    expect(errorLine("user a\ntopic read x\ntopic bogus x\ntopic nope y\n")).toBe(3);
    expect(errorText("topic bogus x")).toBe("invalid topic access type \"bogus\"");
    expect(errorLine("topic\n")).toBe(1);
    expect(errorText("pattern")).toBe("empty topic");
    expect(errorLine("# ok\nuser\n")).toBe(2);
    expect(errorLine("user    \n")).toBe(1);
    expect(errorText("topic read a/#/b")).toBe("invalid ACL topic \"a/#/b\"");
    expect(errorLine("topic read a/+b\n")).toBe(1);
    expect(errorText("Topic read x")).toBe("invalid line \"Topic\"");
    expect(errorLine("topic READ x\n")).toBe(1);
    expect(errorLine("  # not a comment: only column 1 is\n")).toBe(1);
    expect(errorLine("\ttopic read x\n")).toBe(1);
    expect(errorLine("topic read x\n\0\n")).toBe(2);
  });

  it("accepts what mosquitto 2.0.11 accepts", () => {
    const ok: string[] = [
      "", "\n\n   \n\t\n", "# comment\n#\n", "  topic read x\n", "topic  read   x\n", "topic read x\r\n",
      "topic read x\t\n", "topic read \tx\n", "user \talice\n", "topic read a//b\n", "topic read /\n",
      "topic deny\n", "topic read\n", "pattern read %u\n", "topic read $SYS/#\n", "topic read a b\n",
      "topic read x\x0b\n", "topic read a/\xff\n", "user alice\xff\n", "topic read x", "user a\nuser a\n",
    ];
    for (let i = 0; i < ok.length; i++) {
      const e = parse(ok[i]).error;
      expect(e).toBeNull(ok[i]);
    }
  });

  it("counts rules and warns about patterns without %u or %c, like mosquitto", () => {
    const acl = use("topic read a\nuser u\ntopic b\ntopic deny c\npattern read p/%u\npattern read q/#\n");
    expect(acl.topicRuleCount).toBe(3);
    expect(acl.patternCount).toBe(2);
    expect(acl.userCount).toBe(1);
    expect(acl.warnings.length).toBe(1);
    expect(acl.warnings[0]).toBe("ACL pattern 'q/#' (line 6) does not contain '%c' or '%u'");
  });
});

describe("acl_file tokens (mosquitto splits on spaces only)", () => {
  it("takes a lone word after topic as the topic, with readwrite access", () => {
    use("user u\ntopic read\ntopic deny\n");
    expect(reads("u", "c", "read")).toBe(true);
    expect(writes("u", "c", "read")).toBe(true);
    expect(writes("u", "c", "deny")).toBe(true);
  });

  it("keeps tabs inside a token and spaces inside a topic", () => {
    use("user u\ntopic read\tx\ntopic write a b\n");
    expect(writes("u", "c", "read\tx")).toBe(true);
    expect(reads("u", "c", "x")).toBe(false);
    expect(writes("u", "c", "a b")).toBe(true);
    expect(writes("u", "c", "b")).toBe(false);
  });

  it("trims blanks around topics and usernames, and CR line ends", () => {
    use("user  \talice \r\ntopic read   \t x/y \t\r\n");
    expect(reads("alice", "c", "x/y")).toBe(true);
    expect(reads("alice ", "c", "x/y")).toBe(false);
  });
});

const FILE = "topic read public/#\ntopic readwrite anon/#\n\nuser alice\ntopic readwrite alice/#\ntopic read shared/#\n" +
  "topic write drop/#\ntopic deny shared/secret/#\n\nuser bob\ntopic read shared/+/news\n\nuser alice\ntopic read more/#\n\n" +
  "pattern readwrite users/%u/#\npattern read clients/%c/#\npattern write inbox/%c\n";

describe("acl_file decisions", () => {

  it("applies a user's own rules by access bit", () => {
    use(FILE);
    expect(writes("alice", "c1", "alice/x")).toBe(true);
    expect(reads("alice", "c1", "alice")).toBe(true);
    expect(reads("alice", "c1", "shared/x")).toBe(true);
    expect(writes("alice", "c1", "shared/x")).toBe(false);
    expect(writes("alice", "c1", "drop/x")).toBe(true);
    expect(reads("alice", "c1", "drop/x")).toBe(false);
    expect(reads("bob", "c2", "shared/a/news")).toBe(true);
    expect(reads("bob", "c2", "shared/a/b/news")).toBe(false);
  });

  it("lets deny win over any grant of the same list, wherever it appears", () => {
    use(FILE);
    expect(reads("alice", "c1", "shared/secret/x")).toBe(false);
    expect(reads("alice", "c1", "shared/secret")).toBe(false);
    expect(reads("alice", "c1", "shared/secrets")).toBe(true);
  });

  it("merges repeated user blocks", () => {
    use(FILE);
    expect(reads("alice", "c1", "more/x")).toBe(true);
  });

  it("gives anonymous clients only the rules before the first user line, and %c patterns", () => {
    use(FILE);
    expect(reads(null, "anon1", "public/x")).toBe(true);
    expect(writes(null, "anon1", "public/x")).toBe(false);
    expect(writes(null, "anon1", "anon/x")).toBe(true);
    expect(reads("alice", "c1", "public/x")).toBe(false);
    expect(reads(null, "anon1", "clients/anon1/x")).toBe(true);
    expect(writes(null, "anon1", "users/anon1/x")).toBe(false);
    expect(reads(null, "anon1", "alice/x")).toBe(false);
  });

  it("falls through from a user's rules to the patterns", () => {
    use(FILE);
    expect(writes("alice", "c1", "users/alice/x")).toBe(true);
    expect(writes("carol", "c3", "users/carol/x")).toBe(true);
    expect(writes("carol", "c3", "users/alice/x")).toBe(false);
    expect(reads("carol", "c3", "clients/c3/a/b")).toBe(true);
    expect(writes("carol", "c3", "inbox/c3")).toBe(true);
    expect(reads("carol", "c3", "inbox/c3")).toBe(false);
    expect(reads("carol", "c3", "shared/x")).toBe(false);
  });

  it("refuses every pattern to a username or client id holding + or # (CVE-2017-7650)", () => {
    use(FILE + "user a+b\ntopic read own/#\n");
    expect(reads("alice", "+", "clients/+/x")).toBe(false);
    expect(writes("a+b", "c", "users/a+b/x")).toBe(false);
    // Each pattern below would grant.
    expect(reads("alice", "+", "users/alice/x")).toBe(false); // %u grant, bad client id
    expect(reads("alice", "c#", "users/alice/x")).toBe(false);
    expect(reads("a+b", "c", "clients/c/x")).toBe(false); // %c grant, bad username
    expect(writes("a+b", "c", "inbox/c")).toBe(false); // generic pattern, bad username
    expect(reads("alice", "c", "users/alice/x")).toBe(true);
    expect(reads("ab", "c", "clients/c/x")).toBe(true);
    expect(writes("ab", "c", "inbox/c")).toBe(true);
    // ...but not the user's own topic rules, which come first.
    expect(reads("alice", "+", "alice/x")).toBe(true);
    expect(reads("a+b", "c", "own/x")).toBe(true);
  });

  it("lets a user's grant win over a pattern deny, and a user's deny win over a pattern grant", () => {
    use("user alice\ntopic read a/#\ntopic deny b/#\npattern deny a/%u\npattern read b/#\n");
    expect(reads("alice", "c", "a/alice")).toBe(true);
    expect(reads("alice", "c", "b/x")).toBe(false);
    expect(reads("bob", "c", "a/bob")).toBe(false);
    expect(reads("bob", "c", "b/x")).toBe(true);
  });

  it("lets a pattern deny win over pattern grants, in any order", () => {
    use("pattern read x/#\npattern deny x/%u/#\n");
    expect(reads("bob", "c", "x/bob/1")).toBe(false);
    expect(reads("bob", "c", "x/alice/1")).toBe(true);
    expect(reads(null, "c", "x/bob/1")).toBe(true); // %u patterns skipped for anonymous clients
  });

  it("keeps wildcards away from $ topics unless the rule starts with $", () => {
    use("user u\ntopic read #\ntopic read +/x\ntopic read $SYS/broker/#\n");
    expect(reads("u", "c", "$SYS/x")).toBe(false);
    expect(reads("u", "c", "$foo/x")).toBe(false);
    expect(reads("u", "c", "$SYS/broker/load")).toBe(true);
    expect(reads("u", "c", "any/thing")).toBe(true);
  });

  it("denies when no rule decides, and whoever has no rules at all", () => {
    use("user alice\ntopic read a\n");
    expect(reads("alice", "c", "b")).toBe(false);
    expect(reads("bob", "c", "a")).toBe(false);
    expect(reads(null, "c", "a")).toBe(false);
    use("");
    expect(reads("alice", "c", "a")).toBe(false);
  });

  it("grants no access for the NONE access value", () => {
    use("user alice\ntopic readwrite a\n");
    expect(can("alice", "c", "a", Access.None)).toBe(false);
  });

  it("handles many users (hash table growth) and long names", () => {
    let text = "";
    for (let i = 0; i < 300; i++) text += "user user" + i.toString() + "\ntopic readwrite t/" + i.toString() + "/#\n";
    const long = "u".repeat(300);
    text += "user " + long + "\ntopic read long/#\n";
    use(text);
    for (let i = 0; i < 300; i += 37) {
      expect(writes("user" + i.toString(), "c", "t/" + i.toString() + "/x")).toBe(true);
      expect(writes("user" + i.toString(), "c", "t/" + (i + 1).toString() + "/x")).toBe(false);
    }
    expect(reads(long, "c", "long/x")).toBe(true);
    expect(reads("u".repeat(299), "c", "long/x")).toBe(false);
  });
});

describe("users' rules as templates", () => {
  it("shares one set of rules between users whose rules differ only by their name", () => {
    let text = "";
    for (let i = 0; i < 1000; i++) {
      const name = "user" + i.toString();
      text += "user " + name + "\ntopic readwrite users/" + name + "/#\ntopic read shared/" + name + "/status\n";
    }
    const acl = use(text);
    expect(acl.userCount).toBe(1000);
    expect(acl.topicRuleCount).toBe(2000);
    const a = acl.ownRules(str("user1"));
    const b = acl.ownRules(str("user999"));
    expect(a[0]).toBe(b[0]);
    expect(a[1]).toBe(b[1]);
    expect(a[1] - a[0]).toBe(2);
    expect(writes("user7", "c", "users/user7/x")).toBe(true);
    expect(writes("user7", "c", "users/user8/x")).toBe(false);
    expect(writes("user7", "c", "users/user7")).toBe(true);
    expect(reads("user7", "c", "shared/user7/status")).toBe(true);
    expect(writes("user7", "c", "shared/user7/status")).toBe(false);
    expect(reads("user7", "c", "shared/user77/status")).toBe(false);
    expect(reads("user77", "c", "shared/user7/status")).toBe(false);
  });

  it("substitutes whole levels only, and names spanning levels", () => {
    use("user ab\ntopic read x/ab/abc/ab\nuser a/b\ntopic read p/a/b/#\ntopic read q/a/bc\n");
    expect(reads("ab", "c", "x/ab/abc/ab")).toBe(true);
    expect(reads("ab", "c", "x/ab/abd/ab")).toBe(false);
    expect(reads("a/b", "c", "p/a/b/1")).toBe(true);
    expect(reads("a/b", "c", "p/a/b")).toBe(true);
    expect(reads("a/b", "c", "q/a/bc")).toBe(true);
    expect(reads("a/b", "c", "q/a/b")).toBe(false);
  });

  it("keeps names with wildcards or a leading $ literal, and treats %u in a topic rule as text", () => {
    use("user +\ntopic read d/+/x\nuser $s\ntopic read $s/#\nuser bob\ntopic read t/%u/bob\n");
    expect(reads("+", "c", "d/anything/x")).toBe(true);
    expect(reads("$s", "c", "$s/1")).toBe(true);
    expect(reads("bob", "c", "t/%u/bob")).toBe(true);
    expect(reads("bob", "c", "t/bob/bob")).toBe(false);
  });

  it("merges a user's blocks, deny rules first across them", () => {
    use("user alice\ntopic read a/alice/#\nuser bob\ntopic read a/bob/#\nuser alice\ntopic deny a/alice/secret\n");
    expect(reads("alice", "c", "a/alice/x")).toBe(true);
    expect(reads("alice", "c", "a/alice/secret")).toBe(false);
    expect(reads("bob", "c", "a/bob/secret")).toBe(true);
  });
});
