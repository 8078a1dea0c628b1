// jwt: the token as password (tests/fixtures/jwt, signed by node:crypto), sub == username, the
// acl claim's pub/sub/all with %u and %c, refusals, and what a login leaves behind.
import { acl_check, security_init, unpwd_check } from "../policy";
import { Access, Decision, Options } from "../../../sdk/assembly";
import { clearLogs, logCount, logMessage, options, setClient, setOptionFile, str } from "../../../sdk/assembly/testing";

const DIR = "tests/fixtures/jwt/";

function withKey(file: string, leeway: string | null = null): Options {
  setOptionFile("jwt_key_file", DIR + file);
  const pairs = [["jwt_key_file", DIR + file]];
  if (leeway !== null) pairs.push(["jwt_leeway", leeway]);
  return options(pairs);
}

function token(name: string): string {
  setOptionFile("tokens_file", DIR + "tokens.txt");
  const text = options([["tokens_file", DIR + "tokens.txt"]]).readTextFile("tokens_file")!;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const f = lines[i].split(" ");
    if (f.length == 4 && f[0] == name) return f[3];
  }
  throw new Error("no fixture " + name);
}

function lastLog(): string {
  const m = logMessage(logCount() - 1);
  return m === null ? "" : m;
}

function login(clientid: string, user: string | null, tok: string | null): Decision {
  setClient(clientid);
  return unpwd_check(user === null ? null : str(user), tok === null ? null : str(tok));
}

function can(clientid: string, user: string, topic: string, access: i32): bool {
  return acl_check(str(clientid), str(user), str(topic), access) == Decision.Allow;
}

describe("jwt logins", () => {
  beforeAll(() => {
    clearLogs();
    expect(security_init(withKey("rsa.pem"), false)).toBe(true);
    expect(lastLog()).toBe("jwt: keys loaded from jwt_key_file");
  });

  it("accepts a valid token whose sub is the username", () => {
    expect(login("dev1", "alice", token("rs256"))).toBe(Decision.Allow);
    expect(login("dev2", "alice", token("ps256"))).toBe(Decision.Allow);
    expect(login("a-long-client-id-0123456789", "alice", token("rs256"))).toBe(Decision.Allow);
  });

  it("refuses another user's token, bad tokens, and no password", () => {
    clearLogs();
    expect(login("dev1", "bob", token("rs256"))).toBe(Decision.Deny);
    expect(lastLog()).toBe("jwt: token sub is not the username bob");
    const bad = ["tampered", "none", "confusion", "expired", "not-yet", "wrong-key", "bad-b64", "truncated", "header-not-json"];
    for (let i = 0; i < bad.length; i++) {
      clearLogs();
      expect(login("dev1", "alice", token(bad[i]))).toBe(Decision.Deny, bad[i]);
      expect(logCount()).toBe(1, bad[i]);
      expect(lastLog().startsWith("jwt_verify (jwt_key_file): ")).toBe(true, bad[i]);
    }
    expect(login("dev1", "alice", null)).toBe(Decision.Deny);
    expect(login("dev1", null, token("rs256"))).toBe(Decision.Deny);
    expect(login("dev1", "alice", "")).toBe(Decision.Deny);
  });

  it("refuses an acl claim of the wrong shape", () => {
    clearLogs();
    expect(login("dev1", "alice", token("acl-bad"))).toBe(Decision.Deny);
    expect(lastLog()).toBe("jwt: the acl claim of alice is not {\"pub\": [...], \"sub\": [...], \"all\": [...]} of strings");
    expect(login("dev1", "alice", token("acl-not-object"))).toBe(Decision.Deny);
  });

  it("accepts the leeway it is given, refuses a bad one", () => {
    expect(security_init(withKey("rsa.pem", "30"), true)).toBe(true);
    expect(security_init(withKey("rsa.pem", "-1"), true)).toBe(false);
    expect(security_init(withKey("rsa.pem", "x"), true)).toBe(false);
    expect(security_init(withKey("rsa.pem", "0"), true)).toBe(true);
  });

  it("refuses to start without usable keys", () => {
    clearLogs();
    expect(security_init(withKey("private.pem"), true)).toBe(false);
    expect(lastLog()).toBe("jwt: no keys from jwt_key_file");
    expect(security_init(withKey("rsa.pem"), true)).toBe(true);
  });
});

describe("jwt acl claim", () => {
  beforeAll(() => {
    expect(security_init(withKey("rsa.pem"), false)).toBe(true);
    // acl: {"pub": ["data/%u/#"], "sub": ["cmd/%c"], "all": ["shared/+"]}
    expect(login("dev1", "alice", token("rs256"))).toBe(Decision.Allow);
  });

  it("publishes by pub and all, reads by sub and all, with %u and %c", () => {
    expect(can("dev1", "alice", "data/alice/t", Access.Write)).toBe(true);
    expect(can("dev1", "alice", "data/bob/t", Access.Write)).toBe(false);
    expect(can("dev1", "alice", "shared/x", Access.Write)).toBe(true);
    expect(can("dev1", "alice", "cmd/dev1", Access.Write)).toBe(false);
    expect(can("dev1", "alice", "cmd/dev1", Access.Read)).toBe(true);
    expect(can("dev1", "alice", "cmd/dev2", Access.Read)).toBe(false);
    expect(can("dev1", "alice", "shared/x", Access.Read)).toBe(true);
    expect(can("dev1", "alice", "data/alice/t", Access.Read)).toBe(false);
  });

  it("subscribes to what sub and all match, unsubscribes always", () => {
    expect(can("dev1", "alice", "cmd/dev1", Access.Subscribe)).toBe(true);
    expect(can("dev1", "alice", "shared/+", Access.Subscribe)).toBe(true);
    expect(can("dev1", "alice", "cmd/#", Access.Subscribe)).toBe(false);
    expect(can("dev1", "alice", "shared/#", Access.Subscribe)).toBe(false);
    expect(can("dev1", "alice", "data/alice/t", Access.Subscribe)).toBe(false);
    expect(can("dev1", "alice", "anything", Access.Unsubscribe)).toBe(true);
  });

  it("keeps rules per client id and username; a refused login removes them", () => {
    expect(can("dev1", "mallory", "shared/x", Access.Read)).toBe(false);
    expect(can("dev9", "alice", "shared/x", Access.Read)).toBe(false);
    expect(login("dev3", "bob", token("bob"))).toBe(Decision.Allow);
    expect(can("dev3", "bob", "users/bob/a", Access.Write)).toBe(true);
    expect(can("dev3", "bob", "users/alice/a", Access.Write)).toBe(false);
    expect(can("dev3", "bob", "users/bob/#", Access.Subscribe)).toBe(true); // %u put in
    expect(can("dev3", "bob", "users/%u/#", Access.Subscribe)).toBe(false);
    expect(login("dev3", "bob", token("expired"))).toBe(Decision.Deny);
    expect(can("dev3", "bob", "users/bob/a", Access.Write)).toBe(false);
    // A token without an acl claim: the login only.
    expect(login("dev4", "alice", token("no-exp"))).toBe(Decision.Allow);
    expect(can("dev4", "alice", "shared/x", Access.Read)).toBe(false);
  });
});
