// Reasons for decisions (docs/ABI.md, "Reasons"): a short text the host attaches to the decision
// a hook returns, which the plugin's audit log records (plugin_opt_wasm_audit). Only the first
// REASON_MAX_BYTES bytes of UTF-8 are kept. deny(text) and the like encode the text on every call
// (into a static buffer: they never allocate); a Reason encodes it once, so a path taken often
// pays only the host call, and nothing but a branch when the host reads no reasons
// (reasonsWanted). Give reasons where a policy denies rather than on hot allow paths.
import { host_reasons_wanted, host_set_reason } from "./imports";
import { Decision } from "./constants";

/** The most bytes of UTF-8 the host keeps of a reason (wa_limits.h WA_MAX_REASON_BYTES). */
export const REASON_MAX_BYTES: i32 = 128;

// One UTF-16 unit more than the host keeps bytes: every unit encodes to at least one byte, so a
// longer reason still reaches the host longer than it keeps, and it cuts on a character boundary.
const REASON_UNITS: i32 = REASON_MAX_BYTES + 1;
const reasonBuffer = memory.data(REASON_UNITS * 3);

// Whether the host reads reasons, asked once per instance (-1: not asked yet): when nobody reads
// them (the plugin without wasm_audit) a reason costs one load and a branch.
let wanted: i32 = -1;

/**
 * False once the host has said it reads no reasons; true before it was asked. One global load,
 * inlined: test it before doing anything else for a reason.
 */
// @ts-ignore: decorator
@inline export function reasonsMaybeWanted(): bool {
  return wanted != 0;
}

/** True when the host reads reasons (the plugin under `wasm_audit`, wa-call, the Node host). */
export function reasonsWanted(): bool {
  let w = wanted;
  if (w < 0) wanted = w = host_reasons_wanted();
  return w != 0;
}

/**
 * Attaches `reason` to the decision the current hook returns. A later call in the same hook
 * replaces it; each hook call starts without one. Unpaired surrogates become U+FFFD.
 * @returns the bytes the host kept (at most {@link REASON_MAX_BYTES}; 0 when it reads no reasons).
 */
export function setReason(reason: string): i32 {
  if (!reasonsWanted()) return 0;
  const units = min(reason.length, REASON_UNITS);
  const n = String.UTF8.encodeUnsafe(changetype<usize>(reason), units, reasonBuffer, false, String.UTF8.ErrorMode.REPLACE);
  return host_set_reason(reasonBuffer, <u32>n);
}

/**
 * Denies, with a reason for the audit log: `return deny("no grant for topic")`.
 * @returns {@link Decision.Deny}
 */
export function deny(reason: string): Decision {
  setReason(reason);
  return Decision.Deny;
}

/**
 * Allows, with a reason for the audit log (recorded with plugin_opt_wasm_audit all).
 * @returns {@link Decision.Allow}
 */
export function allow(reason: string): Decision {
  setReason(reason);
  return Decision.Allow;
}

/**
 * Defers to the next plugin, with a reason for the audit log.
 * @returns {@link Decision.Defer}
 */
export function defer(reason: string): Decision {
  setReason(reason);
  return Decision.Defer;
}

/**
 * A reason encoded once (at most {@link REASON_MAX_BYTES} bytes are kept), for paths taken often
 * (its methods are inlined: a denial pays one host call, or a load and a branch when the host
 * reads no reasons):
 * `const NO_GRANT = new Reason("no grant for topic")`, then `return NO_GRANT.deny()`.
 */
export class Reason {
  private readonly bytes: ArrayBuffer;

  constructor(text: string) {
    const units = min(text.length, REASON_UNITS);
    this.bytes = String.UTF8.encode(text.substring(0, units), false, String.UTF8.ErrorMode.REPLACE);
  }

  /** Attaches this reason to the decision the current hook returns; the bytes the host kept. */
  // @ts-ignore: decorator
  @inline set(): i32 {
    return reasonsMaybeWanted() ? this.send() : 0;
  }

  private send(): i32 {
    if (!reasonsWanted()) return 0;
    return host_set_reason(changetype<usize>(this.bytes), <u32>this.bytes.byteLength);
  }

  /** {@link Decision.Deny} with this reason. */
  // @ts-ignore: decorator
  @inline deny(): Decision {
    this.set();
    return Decision.Deny;
  }

  /** {@link Decision.Allow} with this reason. */
  // @ts-ignore: decorator
  @inline allow(): Decision {
    this.set();
    return Decision.Allow;
  }

  /** {@link Decision.Defer} with this reason. */
  // @ts-ignore: decorator
  @inline defer(): Decision {
    this.set();
    return Decision.Defer;
  }
}
