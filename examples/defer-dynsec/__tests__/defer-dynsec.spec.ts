// defer-dynsec: a few decisions of its own, defer for the rest.
import { acl_check, unpwd_check } from "../policy";
import { Access, Decision } from "../../../sdk/assembly";
import { allocations, str } from "../../../sdk/assembly/testing";

function acl(user: string | null, topic: string, access: i32): Decision {
  return acl_check(str("cid"), user === null ? null : str(user), str(topic), access);
}

describe("defer-dynsec logins", () => {
  it("refuses usernames with + # or /", () => {
    expect(unpwd_check(str("a+b"), str("pw"))).toBe(Decision.Deny);
    expect(unpwd_check(str("#"), str("pw"))).toBe(Decision.Deny);
    expect(unpwd_check(str("a/b"), null)).toBe(Decision.Deny);
  });

  it("defers everyone else to dynamic-security", () => {
    expect(unpwd_check(str("alice"), str("pw"))).toBe(Decision.Defer);
    expect(unpwd_check(str("alice"), null)).toBe(Decision.Defer);
    expect(unpwd_check(null, null)).toBe(Decision.Defer);
  });
});

describe("defer-dynsec ACL", () => {
  it("denies publishing under $SYS", () => {
    expect(acl("admin", "$SYS/broker/uptime", Access.Write)).toBe(Decision.Deny);
    expect(acl("admin", "$SYS", Access.Write)).toBe(Decision.Deny);
    expect(acl("admin", "$SYS/broker/uptime", Access.Read)).toBe(Decision.Defer);
    expect(acl("admin", "$SYSTEM/x", Access.Write)).toBe(Decision.Defer);
  });

  it("allows reading and subscribing under public, for everyone", () => {
    expect(acl("alice", "public/news", Access.Read)).toBe(Decision.Allow);
    expect(acl(null, "public/#", Access.Subscribe)).toBe(Decision.Allow);
    expect(acl("alice", "public", Access.Unsubscribe)).toBe(Decision.Allow);
    expect(acl("alice", "public/news", Access.Write)).toBe(Decision.Defer);
    expect(acl("alice", "publicity", Access.Read)).toBe(Decision.Defer);
  });

  it("denies everything to dangerous usernames and defers the rest", () => {
    expect(acl("a+b", "public/news", Access.Read)).toBe(Decision.Deny);
    expect(acl("alice", "dyn/x", Access.Write)).toBe(Decision.Defer);
    expect(acl("alice", "#", Access.Subscribe)).toBe(Decision.Defer);
  });

  it("never allocates", () => {
    const c = str("cid");
    const u = str("alice");
    const t = str("public/news");
    const before = allocations();
    for (let i = 0; i < 50; i++) {
      acl_check(c, u, t, Access.Read);
      acl_check(c, u, t, Access.Write);
    }
    expect(allocations()).toBe(before);
  });
});
