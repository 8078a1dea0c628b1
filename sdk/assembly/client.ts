// The client behind the current request, as the host knows it.
import { host_client_id, host_client_address, host_client_protocol_version } from "./imports";

// Scratch block the host copies into; unmanaged and grow-only like the request buffer.
let scratch: usize = 0;
let scratchCap: u32 = 0;

function ensureScratch(n: u32): void {
  if (n <= scratchCap) return;
  scratch = scratch == 0 ? heap.alloc(<usize>n) : heap.realloc(scratch, <usize>n);
  scratchCap = n;
}

// which: 0 = client id, 1 = address. Asks once with the scratch block, again if it was too small.
function fetch(which: i32): string | null {
  ensureScratch(256);
  let n = which == 0 ? host_client_id(scratch, scratchCap) : host_client_address(scratch, scratchCap);
  if (n < 0) return null;
  if (<u32>n > scratchCap) {
    ensureScratch(<u32>n);
    n = which == 0 ? host_client_id(scratch, scratchCap) : host_client_address(scratch, scratchCap);
    if (n < 0) return null;
    if (<u32>n > scratchCap) n = <i32>scratchCap;
  }
  return String.UTF8.decodeUnsafe(scratch, <usize>n);
}

/** The client of the current request (null outside a request or when the host has none). */
export namespace client {
  /** Client id; allocates. */
  export function id(): string | null { return fetch(0); }
  /** IP address the client connected from; allocates. */
  export function address(): string | null { return fetch(1); }
  /** MQTT protocol version: 3 (3.1), 4 (3.1.1), 5 (5.0), 0 without a client. */
  export function protocolVersion(): i32 { return host_client_protocol_version(); }
}
