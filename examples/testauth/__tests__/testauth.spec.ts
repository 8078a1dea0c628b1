// testauth logs every hook's arguments and allows.
import { acl_check, plugin_cleanup, plugin_init, psk_key_get, security_cleanup, security_init, unpwd_check } from "../policy";
import { Access, Decision } from "../../../sdk/assembly";
import { bytes, clearLogs, logCount, logLevel, logMessage, options, setClient, str } from "../../../sdk/assembly/testing";

function lastLog(): string {
  const m = logMessage(logCount() - 1);
  return m === null ? "" : m;
}

describe("testauth", () => {
  beforeEach(() => {
    clearLogs();
  });

  it("logs the options of plugin_init and security_init, and the reload flags", () => {
    plugin_init(options([["wasm_module", "/x/testauth.wasm"], ["greeting", "grüß"]]));
    expect(lastLog()).toBe("testauth: plugin_init (opts: {wasm_module: \"/x/testauth.wasm\", greeting: \"grüß\"})");
    expect(logLevel(0)).toBe(1); // MOSQ_LOG_INFO
    security_init(options([]), true);
    expect(lastLog()).toBe("testauth: security_init (reload: true, opts: {})");
    security_cleanup(false);
    expect(lastLog()).toBe("testauth: security_cleanup (reload: false)");
    plugin_cleanup();
    expect(lastLog()).toBe("testauth: plugin_cleanup");
  });

  it("allows every login, logging the password's length only", () => {
    setClient("c1", "10.0.0.1", 5);
    expect(unpwd_check(str("alice"), str("secret"))).toBe(Decision.Allow);
    expect(lastLog()).toBe("testauth: unpwd_check (username: \"alice\", password: 6 bytes, protocol: 5)");
    expect(lastLog().includes("secret")).toBe(false);
    expect(unpwd_check(null, null)).toBe(Decision.Allow);
    expect(lastLog()).toBe("testauth: unpwd_check (username: (none), password: (none), protocol: 5)");
    expect(unpwd_check(str("bin"), bytes([0, 255, 1]))).toBe(Decision.Allow);
    expect(lastLog().includes("password: 3 bytes")).toBe(true);
  });

  it("allows every ACL request, naming the access", () => {
    expect(acl_check(str("c1"), str("alice"), str("a/b"), Access.Read)).toBe(Decision.Allow);
    expect(lastLog()).toBe("testauth: acl_check (clientid: \"c1\", username: \"alice\", topic: \"a/b\", access: MOSQ_ACL_READ)");
    expect(acl_check(str("c1"), null, str("#"), Access.Subscribe)).toBe(Decision.Allow);
    expect(lastLog()).toBe("testauth: acl_check (clientid: \"c1\", username: (none), topic: \"#\", access: MOSQ_ACL_SUBSCRIBE)");
    acl_check(str("c1"), null, str("x"), Access.Write);
    expect(lastLog().endsWith("MOSQ_ACL_WRITE)")).toBe(true);
    acl_check(str("c1"), null, str("x"), Access.Unsubscribe);
    expect(lastLog().endsWith("MOSQ_ACL_UNSUBSCRIBE)")).toBe(true);
    acl_check(str("c1"), null, str("x"), 3);
    expect(lastLog().endsWith("access 3)")).toBe(true);
  });

  it("answers psk_key_get with plugin_opt_psk_key, or no key", () => {
    plugin_init(options([]));
    expect(psk_key_get(str("id"), str("hint"))).toBeNull();
    expect(lastLog()).toBe("testauth: psk_key_get (identity: \"id\", hint: \"hint\", key: none)");
    plugin_init(options([["psk_key", "00112233"]]));
    expect(psk_key_get(str("id"), str("hint"))).toBe("00112233");
  });
});
