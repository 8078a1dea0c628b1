// json-users: users and roles from users_file, %u/%c patterns, anonymous clients, reload
// semantics, every mistake in the file named, and no allocation per check.
import { acl_check, security_init, unpwd_check } from "../policy";
import { Access, Decision, Options } from "../../../sdk/assembly";
import { allocations, clearLogs, logCount, logMessage, options, setOptionFile, str } from "../../../sdk/assembly/testing";

const FIX = "examples/json-users/__tests__/fixtures/";
const USERS = "examples/json-users/users.json";

function withFile(path: string): Options {
  setOptionFile("users_file", path);
  return options([["users_file", path]]);
}

function lastLog(): string {
  const m = logMessage(logCount() - 1);
  return m === null ? "" : m;
}

// The error a fixture is refused with (the users in force stay).
function refusal(name: string): string {
  clearLogs();
  expect(security_init(withFile(FIX + name), true)).toBe(false);
  return lastLog();
}

function can(clientid: string, user: string | null, topic: string, access: i32): bool {
  return acl_check(str(clientid), user === null ? null : str(user), str(topic), access) == Decision.Allow;
}

describe("json-users logins", () => {
  beforeAll(() => {
    clearLogs();
    expect(security_init(withFile(USERS), false)).toBe(true);
    expect(lastLog()).toBe("json-users: 3 users, 4 roles, anonymous clients allowed");
  });

  it("accepts the file's users with their passwords only", () => {
    expect(unpwd_check(str("alice"), str("alice-secret"))).toBe(Decision.Allow);
    expect(unpwd_check(str("bob"), str("bob-secret"))).toBe(Decision.Allow);
    expect(unpwd_check(str("sensor-1"), str("sensor-1-secret"))).toBe(Decision.Allow);
    expect(unpwd_check(str("alice"), str("bob-secret"))).toBe(Decision.Deny);
    expect(unpwd_check(str("alice"), null)).toBe(Decision.Deny);
    expect(unpwd_check(str("mallory"), str("alice-secret"))).toBe(Decision.Deny);
    expect(unpwd_check(str("alic"), str("alice-secret"))).toBe(Decision.Deny);
  });

  it("lets anonymous clients in only when the file has \"anonymous\"", () => {
    expect(unpwd_check(null, null)).toBe(Decision.Allow);
    expect(security_init(withFile(FIX + "../../users.json"), true)).toBe(true);
  });
});

describe("json-users ACL", () => {
  beforeAll(() => {
    expect(security_init(withFile(USERS), false)).toBe(true);
  });

  it("grants each role's read and write patterns, with %u and %c", () => {
    expect(can("c1", "alice", "anything/at/all", Access.Write)).toBe(true);
    expect(can("c1", "alice", "anything", Access.Read)).toBe(true);
    expect(can("c1", "bob", "users/bob/x", Access.Write)).toBe(true);
    expect(can("c1", "bob", "users/bob/x", Access.Read)).toBe(true);
    expect(can("c1", "bob", "users/alice/x", Access.Write)).toBe(false);
    expect(can("c1", "bob", "users/alice/x", Access.Read)).toBe(false);
    expect(can("c1", "bob", "public/news", Access.Read)).toBe(true);
    expect(can("c1", "bob", "public/news", Access.Write)).toBe(false);
    expect(can("sensor-1", "sensor-1", "devices/sensor-1/telemetry/t", Access.Write)).toBe(true);
    expect(can("other", "sensor-1", "devices/sensor-1/telemetry/t", Access.Write)).toBe(false);
    expect(can("sensor-1", "sensor-1", "devices/sensor-1/commands/reboot", Access.Read)).toBe(true);
    expect(can("sensor-1", "sensor-1", "devices/sensor-1/commands/reboot", Access.Write)).toBe(false);
    expect(can("sensor-1", "sensor-1", "public/x", Access.Read)).toBe(true);
  });

  it("gives anonymous clients the anonymous roles and strangers nothing", () => {
    expect(can("c1", null, "public/x", Access.Read)).toBe(true);
    expect(can("c1", null, "public/x", Access.Write)).toBe(false);
    expect(can("c1", null, "users/bob/x", Access.Read)).toBe(false);
    expect(can("c1", "mallory", "public/x", Access.Read)).toBe(false);
    expect(can("c1", "mallory", "public/x", Access.Subscribe)).toBe(false);
  });

  it("allows SUBSCRIBE and UNSUBSCRIBE to known clients, filtering deliveries by READ", () => {
    expect(can("c1", "bob", "#", Access.Subscribe)).toBe(true);
    expect(can("c1", "bob", "#", Access.Unsubscribe)).toBe(true);
    expect(can("c1", null, "+/x", Access.Subscribe)).toBe(true);
    expect(can("c1", "bob", "users/bob/x", Access.None)).toBe(false);
  });

  it("never lets a username or client id with + or # stand for %u or %c", () => {
    expect(can("c1", "bob", "users/+/x", Access.Write)).toBe(false);
    expect(can("+", "sensor-1", "devices/+/telemetry/t", Access.Write)).toBe(false);
  });

  it("decides without allocating", () => {
    const c = str("sensor-1");
    const u = str("sensor-1");
    const t1 = str("devices/sensor-1/telemetry/t");
    const t2 = str("users/bob/x");
    const p = str("sensor-1-secret");
    const before = allocations();
    for (let i = 0; i < 100; i++) {
      acl_check(c, u, t1, Access.Write);
      acl_check(c, u, t2, Access.Read);
      acl_check(c, null, t2, Access.Read);
    }
    expect(allocations()).toBe(before);
    expect(unpwd_check(u, p)).toBe(Decision.Allow);
  });
});

describe("json-users files that do not load", () => {
  beforeEach(() => {
    expect(security_init(withFile(USERS), false)).toBe(true);
  });

  afterEach(() => {
    // The users in force stayed.
    expect(unpwd_check(str("bob"), str("bob-secret"))).toBe(Decision.Allow);
  });

  it("names the line and column of a JSON error", () => {
    expect(refusal("syntax.json")).toBe("json-users: users_file (" + FIX + "syntax.json): line 4, column 48: trailing ',' before '}'");
  });

  it("names what is wrong and where, in the data", () => {
    const at = "json-users: users_file " + FIX;
    expect(refusal("typo.json")).toBe(at + "typo.json: roles.r: unknown member \"writ\" (expected read, write)");
    expect(refusal("unknown-role.json")).toBe(at + "unknown-role.json: users.bob.roles[0]: unknown role \"admin\"");
    expect(refusal("bad-filter.json")).toBe(at + "bad-filter.json: roles.r.read[0]: \"a/#b\" is not a valid topic filter ('+' and '#' must be whole levels, '#' the last)");
    expect(refusal("plain-password.json")).toBe(at + "plain-password.json: users.bob.password: expected a mosquitto_passwd hash (\"$7$...\" or \"$6$...\"; make one with mosquitto_passwd)");
    expect(refusal("no-roles.json")).toBe(at + "no-roles.json: roles: expected an object of roles (\"roles\": {\"name\": {\"read\": [...], \"write\": [...]}})");
  });

  it("refuses hostile data with a clear reason: repeated names, deep nesting, invalid UTF-8", () => {
    expect(refusal("twice.json")).toBe("json-users: users_file (" + FIX + "twice.json): line 1, column 98: member name \"bob\" repeated in one object");
    expect(refusal("deep.json")).toBe("json-users: users_file (" + FIX + "deep.json): line 1, column 74: nesting deeper than 64 levels");
    expect(refusal("bad-utf8.json")).toBe("json-users: users_file (" + FIX + "bad-utf8.json): line 1, column 27: invalid UTF-8 in a string (byte 0xC3 not followed by a continuation byte)");
  });

  it("says why the file could not be read", () => {
    expect(refusal("missing.json")).toBe("json-users: users_file (" + FIX + "missing.json): not found");
    clearLogs();
    expect(security_init(options([]), true)).toBe(false);
    expect(lastLog()).toBe("json-users: set plugin_opt_users_file to the users and roles JSON file");
  });
});
