/* wasm3 build configuration. Force-included (-include) into every wasm3 source file and into
 * engine_wasm3.c, so the interpreter and the code that reads its internal structs (m3_env.h)
 * agree on every layout-changing switch. */
#ifndef WASM_AUTH_WASM3_CONFIG_H
#define WASM_AUTH_WASM3_CONFIG_H

#include "wa_limits.h"

/* Bound the C stack a wasm call chain may use: deep guest recursion traps ("stack overflow")
 * instead of overflowing the broker's stack. */
#define d_m3MaxNativeStack WA_MAX_NATIVE_STACK

/* AssemblyScript code uses f64 (Math, Date.now, seed): floats stay on. */
#define d_m3HasFloat 1

/* The gate only admits MVP + mutable-globals, sign-extension, nontrapping-f2i, bulk-memory and
 * multi-value. Switching the interpreter's other proposals off keeps code the gate never lets
 * through out of the binary altogether (defence in depth). */
#define d_m3HasRefTypes       0
#define d_m3HasExtendedConst  0
#define d_m3HasCompactImports 0
#define d_m3HasTypedRefs      0

/* wasm3's own validator runs too (second opinion after the gate; it costs load time only). */
#define d_m3EnableValidation 1

/* Error messages name the failing function; no backtraces, no tracing, no logging. */
#define d_m3VerboseErrorMessages 1
#define d_m3RecordBacktraces     0
#define d_m3LogOutput            0

#endif
