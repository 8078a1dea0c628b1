// The hooks a policy may export and the AssemblyScript signatures the SDK gives them
// (docs/ABI.md, "Hooks"). Every type here compiles to i32 in wasm, as do `string`, `i64`-free
// classes and `usize`, so the gate cannot tell `topic: string` from `topic: Str`: only the source
// can. Keep in step with sdk/assembly/index.ts's header and plugin-c/runtime/abi.c.

/** One parameter: its name in the SDK's documentation and the types that work there. */
export interface HookParam {
  readonly name: string;
  readonly accept: readonly string[];
}

/** One accepted form of a hook; `results` lists the result types that work (first = documented). */
export interface HookForm {
  readonly params: readonly HookParam[];
  readonly results: readonly string[];
}

const opts: HookParam = { name: "opts", accept: ["Options"] };
const reload: HookParam = { name: "reload", accept: ["bool", "i32"] };
// i32 works too: the host reads 0, 1 and 2 whatever the declared type.
const decision = ["Decision", "bool", "i32"];
const aclShort: HookParam[] = [
  { name: "clientid", accept: ["Str"] },
  { name: "username", accept: ["Str | null"] },
  { name: "topic", accept: ["Str"] },
  { name: "access", accept: ["Access", "i32"] },
];

const extAuth: HookParam[] = [
  { name: "clientid", accept: ["Str"] },
  { name: "method", accept: ["Str"] },
  { name: "data", accept: ["Str"] },
];

export const HOOKS: ReadonlyMap<string, readonly HookForm[]> = new Map<string, readonly HookForm[]>([
  ["plugin_init", [{ params: [opts], results: ["void", "bool"] }]],
  ["plugin_cleanup", [{ params: [], results: ["void"] }]],
  ["security_init", [{ params: [opts, reload], results: ["void", "bool"] }]],
  ["security_cleanup", [{ params: [reload], results: ["void"] }]],
  ["unpwd_check", [{
    params: [{ name: "username", accept: ["Str | null"] }, { name: "password", accept: ["Str | null"] }],
    results: decision,
  }]],
  ["acl_check", [
    { params: aclShort, results: decision },
    {
      params: [...aclShort,
        { name: "payload", accept: ["Str"] }, { name: "qos", accept: ["i32"] }, { name: "retain", accept: ["bool", "i32"] }],
      results: decision,
    },
  ]],
  ["psk_key_get", [{
    params: [{ name: "identity", accept: ["Str"] }, { name: "hint", accept: ["Str"] }],
    results: ["string | null", "string"],
  }]],
  ["on_disconnect", [{
    params: [{ name: "clientid", accept: ["Str"] }, { name: "username", accept: ["Str | null"] }],
    results: ["void"],
  }]],
  ["on_tick", [{ params: [], results: ["void"] }]],
  ["session_check", [{
    params: [{ name: "clientid", accept: ["Str"] }, { name: "username", accept: ["Str | null"] }],
    results: decision,
  }]],
  ["on_message", [{
    params: [{ name: "clientid", accept: ["Str"] }, { name: "username", accept: ["Str | null"] }, { name: "topic", accept: ["Str"] },
      { name: "payload", accept: ["Str"] }, { name: "qos", accept: ["i32"] }, { name: "retain", accept: ["bool", "i32"] }],
    results: decision,
  }]],
  ["on_message_out", [{
    params: [{ name: "clientid", accept: ["Str"] }, { name: "username", accept: ["Str | null"] }, { name: "topic", accept: ["Str"] },
      { name: "payload", accept: ["Str"] }, { name: "qos", accept: ["i32"] }, { name: "retain", accept: ["bool", "i32"] }],
    results: decision,
  }]],
  ["on_subscribe", [{
    params: [{ name: "clientid", accept: ["Str"] }, { name: "username", accept: ["Str | null"] }, { name: "topic", accept: ["Str"] },
      { name: "qos", accept: ["i32"] }],
    results: decision,
  }]],
  // Decision's values mean the same here (it only cannot say Continue).
  ["ext_auth_start", [{ params: extAuth, results: ["AuthDecision", "Decision", "i32"] }]],
  ["ext_auth_continue", [{ params: extAuth, results: ["AuthDecision", "Decision", "i32"] }]],
  // Not hooks, but the host reads them the same way: a wrong type makes the cache silently off,
  // or the grants garbage.
  ["wasm_auth_acl_cacheable", [{ params: [], results: ["i32", "bool"] }]],
  ["wasm_auth_acl_grants", [{
    params: [{ name: "clientid", accept: ["Str"] }, { name: "username", accept: ["Str | null"] }],
    results: ["Grants | null", "Grants"],
  }]],
]);

/** `acl_check(clientid: Str, username: Str | null, topic: Str, access: Access): Decision` */
export function formatForm(name: string, form: HookForm): string {
  const params = form.params.map((p) => `${p.name}: ${p.accept[0]}`).join(", ");
  return `${name}(${params}): ${form.results[0]}`;
}

/** Every accepted form, for a message: "f(...): T" or "f(...): T, or f(...): T". */
export function formatForms(name: string, forms: readonly HookForm[]): string {
  return forms.map((f) => formatForm(name, f)).join(", or ");
}

/** "'A'", "'A' or 'B'", "'A', 'B' or 'C'" */
export function quoteAlternatives(names: readonly string[]): string {
  const q = names.map((n) => `'${n}'`);
  return q.length <= 1 ? q.join("") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}

/** Levenshtein distance, for "did you mean"; names are short, so the quadratic table is fine. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
