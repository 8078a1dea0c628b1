// The SDK functions that go through host imports: logging, client info, password checks, and the
// ABI exports. Specs run against the Node host's import implementations (as-pect.config.js).
import {
  log, logAt, client, verifyPassword, PasswordHash, LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR,
  Access, Decision, MOSQ_ACL_NONE, MOSQ_ACL_READ, MOSQ_ACL_WRITE, MOSQ_ACL_SUBSCRIBE, MOSQ_ACL_UNSUBSCRIBE,
} from "../index";
import { wasm_auth_abi_version, wasm_auth_buffer } from "../abi";
import { str, bytes, setClient, logCount, logLevel, logMessage, clearLogs } from "../testing";

// Made with `mosquitto_passwd -b` (PBKDF2, password "secret") and `-H sha512` (password "hunter2").
const ALICE_HASH = "$7$101$9UlsDEvzGPvEGqb6$GfgSY27PozmjyAJPA3QXz4wHEqfQ+JrBE/6Zs1H/tLkUx7EgFkeCohngjVoMDuQjYRz/SjQBjtIq76dK5fQEdw==";
const BOB_HASH = "$6$m1WhDhaRhdDdNMIK$QFYaU6wCm+wiZYdAdhjAUIZ1lhYHxq4+hK+Qqe3w/d1tZevJR4z4sszAHeT0jzkphr/BY8mS5Do85MKO2fqFAg==";

describe("log", () => {
  beforeEach(() => { clearLogs(); });

  it("sends each level with its MOSQ_LOG_* value", () => {
    log.debug("d");
    log.info("i");
    log.notice("n");
    log.warning("w");
    log.error("e");
    logAt(LOG_INFO, "via logAt");
    expect(logCount()).toBe(6);
    expect(logLevel(0)).toBe(LOG_DEBUG);
    expect(logLevel(1)).toBe(LOG_INFO);
    expect(logLevel(2)).toBe(LOG_NOTICE);
    expect(logLevel(3)).toBe(LOG_WARNING);
    expect(logLevel(4)).toBe(LOG_ERR);
    expect(logMessage(4)).toBe("e");
    expect(logMessage(5)).toBe("via logAt");
  });

  it("passes non-ASCII text intact and neutralises control characters", () => {
    log.info("grüße €𝄞");
    log.info("two\nlines");
    expect(logMessage(0)).toBe("grüße €𝄞");
    expect(logMessage(1)).toBe("two?lines");
  });

  it("caps a long line at WA_MAX_LOG_BYTES (1024) bytes of UTF-8, on a character boundary", () => {
    log.info("x".repeat(5000));
    log.info("é".repeat(1000));
    log.info("€".repeat(1000));
    expect(logMessage(0)).toBe("x".repeat(1024));
    expect(logMessage(1)).toBe("é".repeat(512));
    expect(logMessage(2)).toBe("€".repeat(341));
  });
});

describe("client", () => {
  it("reports the request's client", () => {
    setClient("sensor-7", "10.0.0.5", 5);
    expect(client.id()).toBe("sensor-7");
    expect(client.address()).toBe("10.0.0.5");
    expect(client.protocolVersion()).toBe(5);
  });

  it("reports a long client id in full", () => {
    const long = "c".repeat(1000);
    setClient(long, null, 4);
    expect(client.id()).toBe(long);
    expect(client.address()).toBeNull();
  });

  it("reports no client outside a request", () => {
    setClient(null);
    expect(client.id()).toBeNull();
    expect(client.address()).toBeNull();
    expect(client.protocolVersion()).toBe(0);
  });
});

describe("passwords", () => {
  it("verifies mosquitto_passwd hashes of both kinds", () => {
    expect(verifyPassword(ALICE_HASH, str("secret"))).toBe(true);
    expect(verifyPassword(ALICE_HASH, str("Secret"))).toBe(false);
    expect(verifyPassword(BOB_HASH, str("hunter2"))).toBe(true);
    expect(verifyPassword(BOB_HASH, str("hunter3"))).toBe(false);
    expect(verifyPassword(BOB_HASH, str(""))).toBe(false);
  });

  it("refuses a null password and malformed hashes", () => {
    expect(verifyPassword(ALICE_HASH, null)).toBe(false);
    expect(verifyPassword("secret", str("secret"))).toBe(false);
    expect(verifyPassword("$7$x$abc$def", str("secret"))).toBe(false);
    expect(verifyPassword("", str(""))).toBe(false);
  });

  it("keeps a hash for repeated checks", () => {
    const h = new PasswordHash(ALICE_HASH);
    expect(h.verify(str("secret"))).toBe(true);
    expect(h.verify(bytes([0x73, 0x65, 0x63, 0x72, 0x65, 0x74]))).toBe(true);
    expect(h.verify(str("wrong"))).toBe(false);
    expect(h.verify(null)).toBe(false);
  });

  it("keeps a hash given as bytes, as a password file holds it", () => {
    const line = str("bob:" + BOB_HASH + "\n");
    const h = PasswordHash.fromBytes(line.ptr + 4, <i32>line.len - 5);
    expect(h.verify(str("hunter2"))).toBe(true);
    expect(h.verify(str("hunter3"))).toBe(false);
    // Cut short (a whole base64 group, as a lenient decoder would ignore missing padding): no match.
    expect(PasswordHash.fromBytes(line.ptr + 4, <i32>line.len - 9).verify(str("hunter2"))).toBe(false);
    line.free();
  });
});

describe("ABI exports and constants", () => {
  it("speaks ABI 1", () => {
    expect(wasm_auth_abi_version()).toBe(1);
  });

  it("hands out a buffer that only grows", () => {
    const a = wasm_auth_buffer(4096);
    expect(a).not.toBe(0);
    // A smaller or equal request keeps the same block.
    expect(wasm_auth_buffer(100)).toBe(a);
    expect(wasm_auth_buffer(4096)).toBe(a);
    const b = wasm_auth_buffer(100000);
    expect(b).not.toBe(0);
    store<u8>(b + 99999, 7);
    expect(load<u8>(b + 99999)).toBe(7);
    expect(wasm_auth_buffer(50)).toBe(b);
  });

  it("uses mosquitto's numbers", () => {
    expect(MOSQ_ACL_NONE).toBe(<i32>Access.None);
    expect(MOSQ_ACL_READ).toBe(<i32>Access.Read);
    expect(MOSQ_ACL_WRITE).toBe(<i32>Access.Write);
    expect(MOSQ_ACL_SUBSCRIBE).toBe(<i32>Access.Subscribe);
    expect(MOSQ_ACL_UNSUBSCRIBE).toBe(<i32>Access.Unsubscribe);
    expect(<i32>Access.Read | <i32>Access.Write | <i32>Access.Subscribe | <i32>Access.Unsubscribe).toBe(15);
    expect(<i32>Decision.Deny).toBe(0);
    expect(<i32>Decision.Allow).toBe(1);
    expect(<i32>Decision.Defer).toBe(2);
  });
});
