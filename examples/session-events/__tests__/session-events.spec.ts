// session-events: heartbeats, kicks and the disconnect count, with the actions the hooks queue.
import { acl_check, on_disconnect, on_tick, plugin_init } from "../policy";
import { Access, Decision } from "../../../sdk/assembly";
import {
  actionCount, actionKind, actionPayload, actionTarget, clearActions, options, setPublishPrefix, str,
} from "../../../sdk/assembly/testing";

describe("session-events", () => {
  beforeEach(() => {
    setPublishPrefix("wasm");
    clearActions();
  });

  it("publishes a heartbeat on every tick, counting disconnects and kicks", () => {
    plugin_init(options([["heartbeat_topic", "wasm/hb"]]));
    on_tick();
    expect(actionCount()).toBe(1);
    expect(actionKind(0)).toBe(2);
    expect(actionTarget(0)).toBe("wasm/hb");
    expect(actionPayload(0)).toBe('{"ticks":1,"disconnects":0,"kicks":0}');
    on_disconnect(str("c1"), null);
    on_disconnect(str("c2"), str("alice"));
    on_tick();
    expect(actionCount()).toBe(2);
    expect(actionPayload(1)).toBe('{"ticks":2,"disconnects":2,"kicks":0}');
  });

  it("refuses a publish to kick/me and kicks the publisher, announcing it", () => {
    expect(acl_check(str("bad"), null, str("kick/me"), Access.Write)).toBe(Decision.Deny);
    expect(actionCount()).toBe(2);
    expect(actionKind(0)).toBe(0);
    expect(actionTarget(0)).toBe("bad");
    expect(actionKind(1)).toBe(2);
    expect(actionTarget(1)).toBe("wasm/kicked");
    expect(actionPayload(1)).toBe("bad");
  });

  it("allows everything else, without actions", () => {
    expect(acl_check(str("c"), null, str("kick/me"), Access.Read)).toBe(Decision.Allow);
    expect(acl_check(str("c"), null, str("kick/me/not"), Access.Write)).toBe(Decision.Allow);
    expect(acl_check(str("c"), null, str("x"), Access.Subscribe)).toBe(Decision.Allow);
    expect(actionCount()).toBe(0);
  });

  it("queues nothing outside the prefix, or without one", () => {
    plugin_init(options([["heartbeat_topic", "elsewhere/hb"]]));
    on_tick();
    expect(actionCount()).toBe(0);
    setPublishPrefix(null);
    plugin_init(options([["heartbeat_topic", "wasm/hb"]]));
    on_tick();
    expect(actionCount()).toBe(0);
  });
});
