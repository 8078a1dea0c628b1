// The two ABI exports every policy needs (docs/ABI.md, "Required exports"). A policy re-exports
// them with one line:  export * from "<path>/sdk/assembly/abi";
// Keep this file to these two functions: everything here becomes a wasm export of the policy.
import { STR_SLACK } from "./str";

/** ABI version this SDK speaks; must equal WA_ABI_VERSION in plugin-c/runtime/abi.h. */
const ABI_VERSION: i32 = 1;

// The request buffer is an unmanaged heap block so the garbage collector never moves or frees it
// while the host holds its address. It only grows: the host asks for a bigger one when a request
// does not fit, and reusing the block keeps the hot path free of allocation.
let requestBuffer: usize = 0;
let requestCapacity: i32 = 0;

/**
 * Returns the ABI version the module was built for (1). The host refuses any other value.
 */
export function wasm_auth_abi_version(): i32 {
  return ABI_VERSION;
}

/**
 * Returns a pointer to at least `size` writable bytes where the host writes request descriptors
 * and field bytes. Valid until the next call; the block is reused and only ever grows.
 */
export function wasm_auth_buffer(size: i32): usize {
  // A negative size is a host bug; an empty request still gets a real (non-zero) block.
  if (size < 0) unreachable();
  if (requestBuffer == 0) {
    const cap = size > 16 ? size : 16;
    requestBuffer = heap.alloc(<usize>cap + STR_SLACK);
    requestCapacity = cap;
  } else if (size > requestCapacity) {
    requestBuffer = heap.realloc(requestBuffer, <usize>size + STR_SLACK);
    requestCapacity = size;
  }
  return requestBuffer;
}
