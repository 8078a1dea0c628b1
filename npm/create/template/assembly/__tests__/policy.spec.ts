// Unit tests of the policy's hooks (as-pect, `npm test`). The hooks run against the host's real
// topic matching and password checks, as in the broker.
import { acl_check, parseUsers, plugin_init, unpwd_check } from "../policy";
import { Access, Decision } from "mosquitto-wasm-auth";
import { options, setOptionFile, str } from "mosquitto-wasm-auth/testing";

function can(user: string | null, topic: string, access: i32): bool {
  return acl_check(str("client-1"), user === null ? null : str(user), str(topic), access) == Decision.Allow;
}

describe("users_file", () => {
  beforeAll(() => {
    setOptionFile("users_file", "data/users.txt");
    expect(plugin_init(options([["users_file", "data/users.txt"]]))).toBe(true);
  });

  it("lets users in with their own password only", () => {
    expect(unpwd_check(str("alice"), str("alice-secret"))).toBe(Decision.Allow);
    expect(unpwd_check(str("bob"), str("bob-secret"))).toBe(Decision.Allow);
    expect(unpwd_check(str("alice"), str("bob-secret"))).toBe(Decision.Deny);
    expect(unpwd_check(str("alice"), null)).toBe(Decision.Deny);
    expect(unpwd_check(str("mallory"), str("alice-secret"))).toBe(Decision.Deny);
    expect(unpwd_check(null, null)).toBe(Decision.Deny);
  });

  it("gives each user the topics of its filters", () => {
    expect(can("alice", "users/alice/temperature", Access.Write)).toBe(true);
    expect(can("alice", "users/alice/temperature", Access.Read)).toBe(true);
    expect(can("alice", "public/news", Access.Read)).toBe(true);
    expect(can("alice", "users/bob/temperature", Access.Write)).toBe(false);
    expect(can("alice", "users/bob/temperature", Access.Read)).toBe(false);
    expect(can("alice", "other", Access.Write)).toBe(false);
  });

  it("allows any subscription of a known user, and checks each delivery", () => {
    expect(can("alice", "#", Access.Subscribe)).toBe(true);
    expect(can("alice", "users/bob/temperature", Access.Read)).toBe(false);
    expect(can("alice", "#", Access.Unsubscribe)).toBe(true);
  });

  it("denies clients without a known username", () => {
    expect(can(null, "public/news", Access.Read)).toBe(false);
    expect(can(null, "#", Access.Subscribe)).toBe(false);
    expect(can("mallory", "public/news", Access.Read)).toBe(false);
  });

  it("refuses a malformed line", () => {
    expect(parseUsers("alice\n")).toBeNull();
    expect(parseUsers("# comment only\n\n")!.size).toBe(0);
  });

  it("refuses to start when its data file cannot be read", () => {
    setOptionFile("users_file", "data/missing.txt");
    expect(plugin_init(options([["users_file", "data/missing.txt"]]))).toBe(false);
  });
});
