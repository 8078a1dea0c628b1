// payload-rules: decisions on the message itself (7-argument acl_check).
import { acl_check, plugin_init } from "../policy";
import { Access, Decision } from "../../../sdk/assembly";
import { allocations, bytes, options, str } from "../../../sdk/assembly/testing";

function pub(topic: string, payload: string, qos: i32 = 0, retain: bool = false): Decision {
  return acl_check(str("cid"), str("u"), str(topic), Access.Write, str(payload), qos, retain);
}

describe("payload-rules options", () => {
  it("accepts defaults and valid values, refuses bad ones", () => {
    expect(plugin_init(options([]))).toBe(true);
    expect(plugin_init(options([["max_qos", "2"], ["max_payload", "10"]]))).toBe(true);
    expect(plugin_init(options([["max_qos", "3"]]))).toBe(false);
    expect(plugin_init(options([["max_payload", "-1"]]))).toBe(false);
    expect(plugin_init(options([["max_payload", "12k"]]))).toBe(false);
    expect(plugin_init(options([["max_payload", ""]]))).toBe(false);
  });
});

describe("payload-rules", () => {
  beforeEach(() => {
    expect(plugin_init(options([["max_payload", "64"]]))).toBe(true);
  });

  it("refuses retained telemetry, nothing else retained", () => {
    expect(pub("telemetry/t1", "{\"t\":21}", 0, true)).toBe(Decision.Deny);
    expect(pub("telemetry", "{}", 0, true)).toBe(Decision.Deny);
    expect(pub("telemetry/t1", "{\"t\":21}", 0, false)).toBe(Decision.Allow);
    expect(pub("status/t1", "online", 1, true)).toBe(Decision.Allow);
    expect(pub("telemetryx", "plain", 0, true)).toBe(Decision.Allow);
  });

  it("caps the QoS at max_qos (default 1)", () => {
    expect(pub("a", "x", 1)).toBe(Decision.Allow);
    expect(pub("a", "x", 2)).toBe(Decision.Deny);
    plugin_init(options([["max_qos", "0"]]));
    expect(pub("a", "x", 1)).toBe(Decision.Deny);
  });

  it("caps the payload size", () => {
    expect(pub("a", "x".repeat(64))).toBe(Decision.Allow);
    expect(pub("a", "x".repeat(65))).toBe(Decision.Deny);
    expect(pub("a", "")).toBe(Decision.Allow);
  });

  it("wants JSON-looking payloads under telemetry", () => {
    expect(pub("telemetry/t1", " {\"t\": 21}\n")).toBe(Decision.Allow);
    expect(pub("telemetry/t1", "[1,2]")).toBe(Decision.Allow);
    expect(pub("telemetry/t1", "21")).toBe(Decision.Deny);
    expect(pub("telemetry/t1", "")).toBe(Decision.Deny);
    expect(pub("telemetry/t1", "   ")).toBe(Decision.Deny);
    expect(pub("telemetry/t1", "{")).toBe(Decision.Deny);
    expect(pub("telemetry/t1", "{]")).toBe(Decision.Deny);
    const binary = acl_check(str("cid"), null, str("telemetry/x"), Access.Write, bytes([0x7b, 0, 0xff, 0x7d]), 0, false);
    expect(binary).toBe(Decision.Allow); // the shape is all it checks
  });

  it("allows reads and subscriptions whatever the message", () => {
    expect(acl_check(str("cid"), str("u"), str("telemetry/t1"), Access.Read, str("not json"), 2, true)).toBe(Decision.Allow);
    expect(acl_check(str("cid"), str("u"), str("telemetry/#"), Access.Subscribe, str(""), 2, false)).toBe(Decision.Allow);
  });

  it("never allocates", () => {
    const c = str("cid");
    const u = str("u");
    const t = str("telemetry/t1");
    const p = str("{\"t\": 21}");
    const before = allocations();
    for (let i = 0; i < 50; i++) {
      acl_check(c, u, t, Access.Write, p, 1, false);
      acl_check(c, u, t, Access.Write, p, 0, true);
    }
    expect(allocations()).toBe(before);
  });
});
