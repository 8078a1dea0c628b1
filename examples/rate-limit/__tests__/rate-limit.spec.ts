// rate-limit: N publishes per second per client on a clock the spec sets, reads and subscribes
// always allowed, the report line of on_tick, the state freed by on_disconnect.
import { acl_check, on_disconnect, on_tick, plugin_init } from "../policy";
import { Access, Decision, LOG_DEBUG, LOG_ERR, LOG_NOTICE } from "../../../sdk/assembly";
import { clearLogs, logCount, logLevel, logMessage, options, setClock, str } from "../../../sdk/assembly/testing";

const T0: f64 = 1.7e12;

// The number of `n` publishes of `id` at the current time that are allowed.
function publishes(id: string, n: i32): i32 {
  const c = str(id);
  const t = str("sensors/1");
  let allowed = 0;
  for (let i = 0; i < n; i++) if (acl_check(c, null, t, Access.Write) == Decision.Allow) allowed++;
  return allowed;
}

describe("rate-limit", () => {
  beforeEach(() => {
    setClock(T0);
    clearLogs();
  });
  afterAll(() => {
    setClock(NaN);
  });

  it("allows 5 publishes per second by default, then one per 200 ms", () => {
    expect(plugin_init(options([]))).toBe(true);
    expect(publishes("a", 20)).toBe(5);
    setClock(T0 + 199);
    expect(publishes("a", 1)).toBe(0);
    setClock(T0 + 200);
    expect(publishes("a", 2)).toBe(1);
    setClock(T0 + 10000);
    expect(publishes("a", 20)).toBe(5);
  });

  it("takes the rate from plugin_opt_publish_rate, per client", () => {
    expect(plugin_init(options([["publish_rate", "3"]]))).toBe(true);
    expect(publishes("a", 10)).toBe(3);
    expect(publishes("b", 10)).toBe(3);
    setClock(T0 + 1000);
    expect(publishes("a", 10)).toBe(3);
  });

  it("always allows reads, subscribes and unsubscribes, even over the rate", () => {
    expect(plugin_init(options([["publish_rate", "1"]]))).toBe(true);
    expect(publishes("a", 2)).toBe(1);
    const c = str("a");
    expect(acl_check(c, null, str("sensors/1"), Access.Read)).toBe(Decision.Allow);
    expect(acl_check(c, null, str("sensors/#"), Access.Subscribe)).toBe(Decision.Allow);
    expect(acl_check(c, null, str("sensors/#"), Access.Unsubscribe)).toBe(Decision.Allow);
    expect(publishes("a", 1)).toBe(0);
  });

  it("refuses to start on a bad option value, naming it", () => {
    const bad = ["0", "-1", "x", "5x", "1000001", ""];
    for (let i = 0; i < bad.length; i++) {
      clearLogs();
      expect(plugin_init(options([["publish_rate", bad[i]]]))).toBe(false);
      expect(logLevel(0)).toBe(LOG_ERR);
      expect(logMessage(0)!.includes("plugin_opt_publish_rate must be a whole number from 1 to 1000000")).toBe(true);
    }
    expect(plugin_init(options([["report_interval_s", "0"]]))).toBe(false);
    expect(plugin_init(options([["rate_limit_max_clients", "many"]]))).toBe(false);
  });

  it("logs the publishes denied once per report interval, and nothing for a quiet one", () => {
    expect(plugin_init(options([["publish_rate", "2"], ["report_interval_s", "10"]]))).toBe(true);
    clearLogs();
    on_tick();                                   // starts the first interval
    expect(publishes("a", 5)).toBe(2);
    expect(publishes("b", 4)).toBe(2);
    setClock(T0 + 9999);
    on_tick();
    expect(logCount()).toBe(0);
    setClock(T0 + 10000);
    on_tick();
    expect(logCount()).toBe(1);
    expect(logLevel(0)).toBe(LOG_NOTICE);
    expect(logMessage(0)).toBe("rate-limit: 5 publishes denied in the last 10 s (2 clients tracked)");
    setClock(T0 + 20000);
    on_tick();
    expect(logCount()).toBe(1);
  });

  it("frees a client's state on disconnect: it comes back with a full bucket", () => {
    expect(plugin_init(options([["publish_rate", "2"], ["report_interval_s", "1"]]))).toBe(true);
    expect(publishes("a", 3)).toBe(2);
    expect(publishes("b", 3)).toBe(2);
    clearLogs();
    on_disconnect(str("a"), null);
    expect(logCount()).toBe(1);
    expect(logLevel(0)).toBe(LOG_DEBUG);
    expect(logMessage(0)).toBe("rate-limit: forgot a (1 clients tracked)");
    on_disconnect(str("never-published"), str("u"));   // nothing to free: nothing logged
    expect(logCount()).toBe(1);
    expect(publishes("a", 3)).toBe(2);
    expect(publishes("b", 1)).toBe(0);
  });

  it("keeps at most rate_limit_max_clients clients", () => {
    expect(plugin_init(options([["publish_rate", "1"], ["rate_limit_max_clients", "2"], ["report_interval_s", "1"]]))).toBe(true);
    expect(publishes("a", 2)).toBe(1);
    expect(publishes("b", 2)).toBe(1);
    expect(publishes("c", 2)).toBe(1);           // a, the least recently seen, is forgotten
    on_tick();
    setClock(T0 + 1000);
    clearLogs();
    on_tick();
    expect(logMessage(0)).toBe("rate-limit: 3 publishes denied in the last 1 s (2 clients tracked)");
  });
});
