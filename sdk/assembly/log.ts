// Logging into the broker's log. The string's UTF-16 bytes go to the host as they are (the ABI's
// guest->host text form), so logging never allocates in the guest.
import { host_log } from "./imports";
import { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR } from "./constants";

/** Writes `msg` to the broker log at `level` (LOG_DEBUG, LOG_INFO, ...); the host prefixes `wasm-auth:`. */
export function logAt(level: i32, msg: string): void {
  host_log(level, changetype<usize>(msg), <u32>msg.length << 1);
}

/** Broker log helpers, one per MOSQ_LOG_* level. */
export namespace log {
  /** Logs at MOSQ_LOG_DEBUG. */
  export function debug(msg: string): void { logAt(LOG_DEBUG, msg); }
  /** Logs at MOSQ_LOG_INFO. */
  export function info(msg: string): void { logAt(LOG_INFO, msg); }
  /** Logs at MOSQ_LOG_NOTICE. */
  export function notice(msg: string): void { logAt(LOG_NOTICE, msg); }
  /** Logs at MOSQ_LOG_WARNING. */
  export function warning(msg: string): void { logAt(LOG_WARNING, msg); }
  /** Logs at MOSQ_LOG_ERR. */
  export function error(msg: string): void { logAt(LOG_ERR, msg); }
}
