// setMessageTopic / setMessagePayload / setMessageRetain: each form stages exactly its bytes.
import { redactJsonStrings, setMessagePayload, setMessageRetain, setMessageTopic } from "../message";
import { clearRewrite, rewrittenPayload, rewrittenRetain, rewrittenTopic, str } from "../testing";

describe("message rewrites", () => {
  beforeEach(() => {
    clearRewrite();
  });

  it("stages nothing until asked", () => {
    expect(rewrittenTopic()).toBeNull();
    expect(rewrittenPayload()).toBeNull();
    expect(rewrittenRetain()).toBe(-1);
  });

  it("takes a topic as a string (UTF-8) or a Str, the later call winning", () => {
    setMessageTopic("a/é");
    expect(rewrittenTopic()).toBe("a/é");
    setMessageTopic(str("b/c"));
    expect(rewrittenTopic()).toBe("b/c");
  });

  it("takes a payload as a string, a Uint8Array or a Str, empty included", () => {
    setMessagePayload("text");
    expect(rewrittenPayload()).toBe("text");
    const b = new Uint8Array(3);
    b[0] = 0x41;
    b[1] = 0x42;
    b[2] = 0x43;
    setMessagePayload(b);
    expect(rewrittenPayload()).toBe("ABC");
    setMessagePayload(str("from a Str"));
    expect(rewrittenPayload()).toBe("from a Str");
    setMessagePayload("");
    expect(rewrittenPayload()).toBe("");
  });

  it("sets retain either way", () => {
    setMessageRetain(true);
    expect(rewrittenRetain()).toBe(1);
    setMessageRetain(false);
    expect(rewrittenRetain()).toBe(0);
  });

  it("traps on a topic no client may publish to", () => {
    expect(() => { setMessageTopic("a/+"); }).toThrow();
    expect(() => { setMessageTopic("$SYS/x"); }).toThrow();
    expect(() => { setMessageTopic(""); }).toThrow();
    expect(rewrittenTopic()).toBeNull();
  });
});

function text(b: Uint8Array | null): string | null {
  return b === null ? null : String.UTF8.decode(b.buffer);
}

describe("redactJsonStrings", () => {
  it("replaces every string value of the key, spacing and escapes kept apart", () => {
    expect(text(redactJsonStrings(str('{"user":"a","password":"p1","x":{"password" : "p\\"2"}}'), "password")))
      .toBe('{"user":"a","password":"***","x":{"password" : "***"}}');
    expect(text(redactJsonStrings(str('{"secret":"s"}'), "secret", "hidden"))).toBe('{"secret":"hidden"}');
  });

  it("leaves payloads without such a member alone (null)", () => {
    expect(text(redactJsonStrings(str('{"password":42}'), "password"))).toBeNull();
    expect(text(redactJsonStrings(str('{"passwords":"x"}'), "password"))).toBeNull();
    expect(text(redactJsonStrings(str('not json'), "password"))).toBeNull();
    expect(text(redactJsonStrings(str('{"password":"unterminated'), "password"))).toBeNull();
    expect(text(redactJsonStrings(str(''), "password"))).toBeNull();
  });
});
