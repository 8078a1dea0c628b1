// deny(reason) / allow(reason) / defer(reason) and setReason, against the Node host's set_reason
// (the same rules as the plugin's: UTF-8, at most REASON_MAX_BYTES kept, cut on a character boundary).
import { allow, defer, deny, setReason, Decision, Reason, REASON_MAX_BYTES } from "../index";
import { host_set_reason } from "../imports";
import { clearReason, lastReason } from "../testing";

describe("deny / allow / defer with a reason", () => {
  beforeEach(() => { clearReason(); });

  it("return their decision and leave the reason with the host", () => {
    expect(deny("no acl rule grants write on a/b")).toBe(Decision.Deny);
    expect(lastReason()).toBe("no acl rule grants write on a/b");
    expect(allow("admin")).toBe(Decision.Allow);
    expect(lastReason()).toBe("admin");
    expect(defer("not mine")).toBe(Decision.Defer);
    expect(lastReason()).toBe("not mine");
  });

  it("keeps non-ASCII text intact", () => {
    expect(setReason("grüße €𝄞")).toBe(15);
    expect(lastReason()).toBe("grüße €𝄞");
  });

  it("cuts a long reason at REASON_MAX_BYTES on a character boundary", () => {
    expect(setReason("x".repeat(500))).toBe(REASON_MAX_BYTES);
    expect(lastReason()).toBe("x".repeat(REASON_MAX_BYTES));
    // 127 ASCII bytes, then a 3-byte character across the cut: it goes whole.
    expect(setReason("y".repeat(127) + "€€")).toBe(127);
    expect(lastReason()).toBe("y".repeat(127));
  });

  it("turns an unpaired surrogate into U+FFFD rather than invalid UTF-8", () => {
    const lone = String.fromCharCode(0xd800);
    expect(setReason("a" + lone + "b")).toBe(5);
    expect(lastReason()).toBe("a\uFFFDb");
  });

  it("the host refuses bytes that are not UTF-8 (-1) and keeps no reason", () => {
    setReason("earlier");
    const bad = memory.data<u8>([0x61, 0xff, 0x62]);
    expect(host_set_reason(bad, 3)).toBe(-1);
    expect(lastReason()).toBe("");
  });

  it("an empty reason is kept as none", () => {
    expect(setReason("")).toBe(0);
    expect(lastReason()).toBe("");
  });
});

describe("Reason (encoded once)", () => {
  beforeEach(() => { clearReason(); });

  it("gives its text with each decision", () => {
    const r = new Reason("no grant for topic");
    expect(r.deny()).toBe(Decision.Deny);
    expect(lastReason()).toBe("no grant for topic");
    clearReason();
    expect(r.allow()).toBe(Decision.Allow);
    expect(lastReason()).toBe("no grant for topic");
    expect(r.defer()).toBe(Decision.Defer);
    expect(r.set()).toBe(18);
  });

  it("is cut like setReason", () => {
    expect(new Reason("z".repeat(300)).set()).toBe(REASON_MAX_BYTES);
    expect(lastReason()).toBe("z".repeat(REASON_MAX_BYTES));
  });
});
