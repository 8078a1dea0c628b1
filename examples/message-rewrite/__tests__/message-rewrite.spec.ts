// message-rewrite: what on_message decides and stages for each kind of message.
import { on_message, redacted } from "../policy";
import { Decision } from "../../../sdk/assembly";
import { clearRewrite, rewrittenPayload, rewrittenRetain, rewrittenTopic, str } from "../../../sdk/assembly/testing";

function text(b: Uint8Array | null): string | null {
  return b === null ? null : String.UTF8.decode(b.buffer);
}

describe("message-rewrite", () => {
  beforeEach(() => {
    clearRewrite();
  });

  it("drops drop and drop/..., not dropped/...", () => {
    expect(on_message(str("c"), str("u"), str("drop"), str("x"), 0, false)).toBe(Decision.Deny);
    expect(on_message(str("c"), null, str("drop/a/b"), str("x"), 1, false)).toBe(Decision.Deny);
    expect(on_message(str("c"), str("u"), str("dropped/a"), str("x"), 0, false)).toBe(Decision.Allow);
    expect(rewrittenTopic()).toBeNull();
  });

  it("moves in/... under the publisher's tenant prefix", () => {
    expect(on_message(str("c"), str("acme"), str("in/sensor/1"), str("21.5"), 1, false)).toBe(Decision.Allow);
    expect(rewrittenTopic()).toBe("tenants/acme/in/sensor/1");
    expect(rewrittenPayload()).toBeNull();
    expect(rewrittenRetain()).toBe(-1);
  });

  it("drops in/... without a username, or with one that is not one topic level", () => {
    expect(on_message(str("c"), null, str("in/x"), str("1"), 0, false)).toBe(Decision.Deny);
    expect(on_message(str("c"), str(""), str("in/x"), str("1"), 0, false)).toBe(Decision.Deny);
    expect(on_message(str("c"), str("a/b"), str("in/x"), str("1"), 0, false)).toBe(Decision.Deny);
    expect(on_message(str("c"), str("a+"), str("in/x"), str("1"), 0, false)).toBe(Decision.Deny);
    expect(on_message(str("c"), str("#"), str("in/x"), str("1"), 0, false)).toBe(Decision.Deny);
  });

  it("retains status/... messages that were not retained", () => {
    expect(on_message(str("c"), null, str("status/dev1"), str("online"), 0, false)).toBe(Decision.Allow);
    expect(rewrittenRetain()).toBe(1);
    clearRewrite();
    expect(on_message(str("c"), null, str("status/dev1"), str("online"), 0, true)).toBe(Decision.Allow);
    expect(rewrittenRetain()).toBe(-1);
  });

  it("redacts password members and leaves other payloads alone", () => {
    expect(on_message(str("c"), str("u"), str("in/login"), str('{"user":"a","password":"s3\\"cret"}'), 0, false)).toBe(Decision.Allow);
    expect(rewrittenTopic()).toBe("tenants/u/in/login");
    expect(rewrittenPayload()).toBe('{"user":"a","password":"***"}');
    clearRewrite();
    expect(on_message(str("c"), null, str("other"), str('{"passwords":"x"}'), 0, false)).toBe(Decision.Allow);
    expect(rewrittenPayload()).toBeNull();
  });

  it("redacted(): every member, whitespace around the colon, not non-strings", () => {
    expect(text(redacted(str('{"password" : "a", "x": {"password":"b"}}')))).toBe('{"password" : "***", "x": {"password":"***"}}');
    expect(redacted(str('{"password": 12}'))).toBeNull();
    expect(redacted(str('{"password": "unterminated'))).toBeNull();
    expect(redacted(str(""))).toBeNull();
  });
});
