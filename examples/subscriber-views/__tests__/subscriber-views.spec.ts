// subscriber-views: what on_subscribe and on_message_out decide and stage.
import { on_message_out, on_subscribe, redacted } from "../policy";
import { Decision } from "../../../sdk/assembly";
import {
  clearRewrite, clearSubscribeRewrite, rewrittenPayload, rewrittenSubscribeQos, rewrittenSubscribeTopic, rewrittenTopic, str,
} from "../../../sdk/assembly/testing";

function text(b: Uint8Array | null): string | null {
  return b === null ? null : String.UTF8.decode(b.buffer);
}

describe("subscriber-views: on_subscribe", () => {
  beforeEach(() => {
    clearSubscribeRewrite();
  });

  it("moves inbox and inbox/... under the subscriber's username", () => {
    expect(on_subscribe(str("c"), str("alice"), str("inbox"), 1)).toBe(Decision.Allow);
    expect(rewrittenSubscribeTopic()).toBe("users/alice/inbox");
    expect(rewrittenSubscribeQos()).toBe(-1);
    clearSubscribeRewrite();
    expect(on_subscribe(str("c"), str("bob"), str("inbox/#"), 0)).toBe(Decision.Allow);
    expect(rewrittenSubscribeTopic()).toBe("users/bob/inbox/#");
  });

  it("refuses inbox without a username usable as one topic level", () => {
    expect(on_subscribe(str("c"), null, str("inbox"), 0)).toBe(Decision.Deny);
    expect(on_subscribe(str("c"), str(""), str("inbox"), 0)).toBe(Decision.Deny);
    expect(on_subscribe(str("c"), str("a/b"), str("inbox"), 0)).toBe(Decision.Deny);
    expect(on_subscribe(str("c"), str("+"), str("inbox"), 0)).toBe(Decision.Deny);
    expect(rewrittenSubscribeTopic()).toBeNull();
  });

  it("keeps other filters, inboxes/... included, as they came", () => {
    expect(on_subscribe(str("c"), str("alice"), str("inboxes/x"), 0)).toBe(Decision.Defer);
    expect(on_subscribe(str("c"), null, str("#"), 2)).toBe(Decision.Defer);
    expect(rewrittenSubscribeTopic()).toBeNull();
  });
});

describe("subscriber-views: on_message_out", () => {
  beforeEach(() => {
    clearRewrite();
  });

  it("gives admin reports as published and everyone else the secret redacted", () => {
    const report = str('{"site":"x","secret":"s3cr\\"et","n":1}');
    expect(on_message_out(str("a"), str("admin"), str("reports/daily"), report, 0, false)).toBe(Decision.Defer);
    expect(rewrittenPayload()).toBeNull();
    expect(on_message_out(str("b"), str("bob"), str("reports/daily"), report, 1, false)).toBe(Decision.Allow);
    expect(rewrittenPayload()).toBe('{"site":"x","secret":"***","n":1}');
    expect(rewrittenTopic()).toBeNull();
    clearRewrite();
    expect(on_message_out(str("c"), null, str("reports"), str("no secret here"), 0, false)).toBe(Decision.Allow);
    expect(rewrittenPayload()).toBeNull();
  });

  it("sends staff/... to admin and staff-* only", () => {
    expect(on_message_out(str("a"), str("admin"), str("staff/news"), str("x"), 0, false)).toBe(Decision.Defer);
    expect(on_message_out(str("s"), str("staff-carol"), str("staff/news"), str("x"), 0, false)).toBe(Decision.Defer);
    expect(on_message_out(str("b"), str("bob"), str("staff/news"), str("x"), 0, false)).toBe(Decision.Deny);
    expect(on_message_out(str("n"), null, str("staff"), str("x"), 0, false)).toBe(Decision.Deny);
  });

  it("leaves every other topic alone", () => {
    expect(on_message_out(str("b"), str("bob"), str("reportsx/a"), str('{"secret":"s"}'), 0, false)).toBe(Decision.Defer);
    expect(on_message_out(str("b"), str("bob"), str("users/bob/inbox"), str("hi"), 0, false)).toBe(Decision.Defer);
  });

  it("redacts every secret member, and only string values", () => {
    expect(text(redacted(str('{"secret" : "a","x":{"secret":"b"}}')))).toBe('{"secret" : "***","x":{"secret":"***"}}');
    expect(redacted(str('{"secret":12}'))).toBeNull();
  });
});
