// static-users: built-in users, per-user subtrees, public read, and no allocation per ACL check.
import { acl_check, plugin_init, unpwd_check } from "../policy";
import { Access, Decision } from "../../../sdk/assembly";
import { allocations, options, setOptionFile, str } from "../../../sdk/assembly/testing";

function can(user: string | null, topic: string, access: i32): bool {
  return acl_check(str("cid"), user === null ? null : str(user), str(topic), access) == Decision.Allow;
}

describe("static-users logins", () => {
  beforeAll(() => {
    expect(plugin_init(options([]))).toBe(true);
  });

  it("accepts the built-in users with their passwords only", () => {
    expect(unpwd_check(str("alice"), str("alice-secret"))).toBe(Decision.Allow);
    expect(unpwd_check(str("sensor-1"), str("sensor-1-secret"))).toBe(Decision.Allow);
    expect(unpwd_check(str("alice"), str("bob-secret"))).toBe(Decision.Deny);
    expect(unpwd_check(str("alice"), null)).toBe(Decision.Deny);
    expect(unpwd_check(str("mallory"), str("alice-secret"))).toBe(Decision.Deny);
    expect(unpwd_check(null, null)).toBe(Decision.Deny);
  });

  it("takes its users from password_file when given one", () => {
    setOptionFile("password_file", "assembly/__tests__/fixtures/passwd");
    expect(plugin_init(options([["password_file", "assembly/__tests__/fixtures/passwd"]]))).toBe(true);
    expect(unpwd_check(str("bob"), str("bob-pw"))).toBe(Decision.Allow);
    expect(unpwd_check(str("alice"), str("alice-secret"))).toBe(Decision.Deny);
    setOptionFile("password_file", "assembly/__tests__/fixtures/missing");
    expect(plugin_init(options([["password_file", "assembly/__tests__/fixtures/missing"]]))).toBe(false);
    expect(plugin_init(options([]))).toBe(true);
  });
});

describe("static-users ACL", () => {
  it("gives each user its own subtree, for every access", () => {
    const all: i32[] = [Access.Read, Access.Write, Access.Subscribe, Access.Unsubscribe];
    for (let i = 0; i < all.length; i++) {
      expect(can("alice", "users/alice/x", all[i])).toBe(true);
      expect(can("alice", "users/alice", all[i])).toBe(true);
      expect(can("alice", "users/alice/#", all[i])).toBe(true);
      expect(can("alice", "users/bob/x", all[i])).toBe(false);
    }
    expect(can("sensor-1", "users/sensor-1/a/b/c", Access.Write)).toBe(true);
  });

  it("matches the username exactly, as a whole level", () => {
    expect(can("alice", "users/alicex/y", Access.Write)).toBe(false);
    expect(can("alice", "users/alic/y", Access.Write)).toBe(false);
    expect(can("alice", "users/alice2", Access.Write)).toBe(false);
    expect(can("alice", "users/", Access.Write)).toBe(false);
    expect(can("", "users//x", Access.Write)).toBe(false);
    expect(can(null, "users/alice/x", Access.Read)).toBe(false);
    expect(can("a-long-username-over-8", "users/a-long-username-over-8/x", Access.Write)).toBe(true);
    expect(can("a-long-username-over-8", "users/a-long-username-over-9/x", Access.Write)).toBe(false);
  });

  it("never lets a username with / + or # own a subtree", () => {
    expect(can("+", "users/+/#", Access.Subscribe)).toBe(false);
    expect(can("#", "users/#", Access.Subscribe)).toBe(false);
    expect(can("alice/x", "users/alice/x/y", Access.Write)).toBe(false);
    expect(can("long-name-with-a/slash", "users/long-name-with-a/slash", Access.Write)).toBe(false);
  });

  it("lets everyone read public, nobody write it", () => {
    expect(can("bob", "public/news", Access.Read)).toBe(true);
    expect(can(null, "public", Access.Read)).toBe(true);
    expect(can("bob", "public/#", Access.Subscribe)).toBe(true);
    expect(can("bob", "public/+/x", Access.Unsubscribe)).toBe(true);
    expect(can("bob", "public/news", Access.Write)).toBe(false);
    expect(can("bob", "publicx", Access.Read)).toBe(false);
    expect(can("bob", "publi", Access.Read)).toBe(false);
  });

  it("denies everything else", () => {
    expect(can("alice", "#", Access.Subscribe)).toBe(false);
    expect(can("alice", "+/news", Access.Subscribe)).toBe(false);
    expect(can("alice", "other/x", Access.Read)).toBe(false);
    expect(can("alice", "$SYS/broker/uptime", Access.Read)).toBe(false);
    expect(can("alice", "", Access.Read)).toBe(false);
  });

  it("never allocates", () => {
    const c = str("cid");
    const u = str("alice");
    const t1 = str("users/alice/x");
    const t2 = str("public/news");
    const t3 = str("users/bob/x");
    const before = allocations();
    for (let i = 0; i < 100; i++) {
      acl_check(c, u, t1, Access.Write);
      acl_check(c, u, t2, Access.Read);
      acl_check(c, u, t3, Access.Subscribe);
    }
    expect(allocations()).toBe(before);
  });
});
