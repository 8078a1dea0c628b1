// psk: keys from psk_file by identity, ACL by identity-as-username.
import { acl_check, psk_key_get, security_init } from "../policy";
import { Access, Decision, Options } from "../../../sdk/assembly";
import { allocations, clearLogs, logCount, logMessage, options, setOptionFile, str } from "../../../sdk/assembly/testing";

const FIX = "examples/psk/__tests__/fixtures/";

function withFile(name: string): Options {
  setOptionFile("psk_file", FIX + name);
  return options([["psk_file", FIX + name]]);
}

function lastLog(): string {
  const m = logMessage(logCount() - 1);
  return m === null ? "" : m;
}

function can(user: string, topic: string, access: i32): bool {
  return acl_check(str("cid"), str(user), str(topic), access) == Decision.Allow;
}

describe("psk keys", () => {
  beforeEach(() => {
    clearLogs();
    expect(security_init(withFile("psk.txt"), false)).toBe(true);
  });

  it("hands out each identity's key, and none for strangers", () => {
    expect(psk_key_get(str("sensor-1"), str("hint"))).toBe("00112233445566778899aabbccddeeff");
    expect(psk_key_get(str("sensor-2"), str(""))).toBe("DEADBEEF");
    expect(psk_key_get(str("gateway"), str("x"))).toBe("0123456789abcdef0123456789abcdef");
    expect(psk_key_get(str("sensor-3"), str("hint"))).toBeNull();
    expect(psk_key_get(str("sensor-"), str("hint"))).toBeNull();
    expect(psk_key_get(str(""), str("hint"))).toBeNull();
  });

  it("refuses a bad file, naming the line, and keeps the keys in force", () => {
    expect(security_init(withFile("bad-key.txt"), true)).toBe(false);
    expect(lastLog()).toBe("psk: psk_file line 2: the key of \"sensor-2\" must be 1 to 512 hex digits");
    expect(security_init(withFile("twice.txt"), true)).toBe(false);
    expect(lastLog()).toBe("psk: psk_file line 2: identity \"sensor-1\" is listed twice");
    expect(security_init(withFile("missing.txt"), true)).toBe(false);
    expect(psk_key_get(str("sensor-1"), str("hint"))).toBe("00112233445566778899aabbccddeeff");
  });

  it("reloads new keys", () => {
    expect(security_init(withFile("bad-key.txt"), true)).toBe(false);
    expect(security_init(withFile("twice.txt"), true)).toBe(false);
    setOptionFile("psk_file", FIX + "psk.txt");
    expect(security_init(options([["psk_file", "x"]]), true)).toBe(true);
    expect(lastLog()).toBe("psk: 4 identities (reloaded)");
  });

  it("looks keys up without allocating", () => {
    const id = str("gateway");
    const hint = str("h");
    const before = allocations();
    for (let i = 0; i < 50; i++) psk_key_get(id, hint);
    expect(allocations()).toBe(before);
  });
});

describe("psk ACL (identity as username)", () => {
  beforeAll(() => {
    expect(security_init(withFile("psk.txt"), false)).toBe(true);
  });

  it("gives each identity its device subtree", () => {
    expect(can("sensor-1", "devices/sensor-1/temp", Access.Write)).toBe(true);
    expect(can("sensor-1", "devices/sensor-1", Access.Read)).toBe(true);
    expect(can("sensor-1", "devices/sensor-1/#", Access.Subscribe)).toBe(true);
    expect(can("sensor-1", "devices/sensor-2/temp", Access.Write)).toBe(false);
    expect(can("sensor-1", "devices/sensor-1x/temp", Access.Write)).toBe(false);
    expect(can("sensor-1", "devices/+/temp", Access.Subscribe)).toBe(false);
  });

  it("lets identities read broadcast, not write it", () => {
    expect(can("gateway", "broadcast/all", Access.Read)).toBe(true);
    expect(can("gateway", "broadcast", Access.Subscribe)).toBe(true);
    expect(can("gateway", "broadcast/all", Access.Write)).toBe(false);
    expect(can("gateway", "broadcastx", Access.Read)).toBe(false);
  });

  it("gives unknown usernames and identities with / nothing", () => {
    expect(can("mallory", "broadcast/all", Access.Read)).toBe(false);
    expect(can("mallory", "devices/mallory/x", Access.Write)).toBe(false);
    expect(can("bad/id", "devices/bad/id/x", Access.Write)).toBe(false);
    expect(acl_check(str("cid"), null, str("broadcast/all"), Access.Read)).toBe(Decision.Deny);
  });
});
