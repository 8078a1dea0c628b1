// setSubscribeTopic / setSubscribeQos: each form stages exactly its value; bad values trap.
import { setSubscribeQos, setSubscribeTopic } from "../subscribe";
import { clearSubscribeRewrite, rewrittenSubscribeQos, rewrittenSubscribeTopic, str } from "../testing";

describe("subscription rewrites", () => {
  beforeEach(() => {
    clearSubscribeRewrite();
  });

  it("stages nothing until asked", () => {
    expect(rewrittenSubscribeTopic()).toBeNull();
    expect(rewrittenSubscribeQos()).toBe(-1);
  });

  it("takes a filter as a string (UTF-8) or a Str, wildcards included, the later call winning", () => {
    setSubscribeTopic("users/é/inbox/#");
    expect(rewrittenSubscribeTopic()).toBe("users/é/inbox/#");
    setSubscribeTopic(str("a/+/c"));
    expect(rewrittenSubscribeTopic()).toBe("a/+/c");
  });

  it("sets a qos of 0 to 2", () => {
    setSubscribeQos(0);
    expect(rewrittenSubscribeQos()).toBe(0);
    setSubscribeQos(2);
    expect(rewrittenSubscribeQos()).toBe(2);
  });

  it("traps on a filter mosquitto would refuse", () => {
    expect(() => { setSubscribeTopic("a/#/b"); }).toThrow();
    expect(() => { setSubscribeTopic("a+/b"); }).toThrow();
    expect(() => { setSubscribeTopic(""); }).toThrow();
    expect(rewrittenSubscribeTopic()).toBeNull();
  });

  it("traps on a qos outside 0-2", () => {
    expect(() => { setSubscribeQos(3); }).toThrow();
    expect(() => { setSubscribeQos(-1); }).toThrow();
    expect(rewrittenSubscribeQos()).toBe(-1);
  });
});
