// A client's grants (docs/ABI.md, "Grants"), read out of guest memory and decided exactly as the
// plugin does (plugin-c/runtime/grants.c): the same checks on the descriptor, the same order of matching
// (deny entries first within a tier, the first match decides), the same fallback bytes.
import { WA_GRANTS_MAX_BYTES, WA_GRANTS_MAX_ENTRIES, WA_GRANTS_MAX_WORK } from './limits.js';
import type { GuestMemory } from './memory.js';
import { topicMatchesSub, validFilter } from './topic.js';

export const EXPORT_ACL_GRANTS = 'wasm_auth_acl_grants';

/** What a check the grants leave to acl_check gets from them. */
export const ASK = 'ask';

type Decision = 'allow' | 'deny' | 'defer';

export interface Grant {
  /** The filter's UTF-8 bytes. */
  filter: Uint8Array;
  /** MOSQ_ACL_READ (1) and/or MOSQ_ACL_WRITE (2). */
  access: number;
  deny: boolean;
  tier: number;
}

const FALLBACKS: readonly (Decision | typeof ASK)[] = ['deny', 'allow', 'defer', ASK];
const DESC_BYTES = 16;
const ENTRY_BYTES = 12;

/** One client's grants, copied out of the guest. */
export class ClientGrants {
  constructor(
    /** In matching order: each tier's deny entries, then its grants. */
    readonly grants: readonly Grant[],
    /** Fallback for READ, WRITE, SUBSCRIBE, UNSUBSCRIBE. */
    readonly fallback: readonly (Decision | typeof ASK)[],
  ) {}

  /** The decision for a check of `topic`, or ASK when acl_check decides it. */
  decide(topic: string, access: number): Decision | typeof ASK {
    const k = [1, 2, 4, 8].indexOf(access);
    if (k < 0) return ASK;
    if (access === 1 || access === 2) {
      const t = new TextEncoder().encode(topic);
      if (this.grants.length * (t.length + 16) > WA_GRANTS_MAX_WORK) return ASK;
      for (const g of this.grants) {
        if ((g.access & access) !== 0 && topicMatchesSub(g.filter, t) === 1) return g.deny ? 'deny' : 'allow';
      }
    }
    return this.fallback[k];
  }
}

/** The grants at `ptr` (0: none, everything asks), or the reason they are refused. */
export function readGrants(mem: GuestMemory, ptr: number): ClientGrants | string {
  const fail = (why: string): string => `${EXPORT_ACL_GRANTS}: ${why}`;
  ptr >>>= 0;
  if (ptr === 0) return new ClientGrants([], [ASK, ASK, ASK, ASK]);
  const d = mem.range(ptr, DESC_BYTES);
  if (d === null || (ptr & 3) !== 0) return fail('descriptor outside memory or not 4-byte aligned');
  const word = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
  const n = word(d, 0);
  const fallback: (Decision | typeof ASK)[] = [];
  for (let i = 0; i < 4; i++) {
    if (d[4 + i] > 3) return fail('fallback byte above 3');
    fallback.push(FALLBACKS[d[4 + i]]);
  }
  if (n > WA_GRANTS_MAX_ENTRIES) return fail('more than WA_GRANTS_MAX_ENTRIES entries');
  const entries = mem.range(word(d, 8), n * ENTRY_BYTES);
  if (n !== 0 && entries === null) return fail('entries outside memory');
  const base = word(d, 12);
  const read: Grant[] = [];
  let total = 0;
  let prevTier = 0;
  for (let i = 0; i < n; i++) {
    const e = entries!.subarray(i * ENTRY_BYTES, (i + 1) * ENTRY_BYTES);
    const off = word(e, 0);
    const len = word(e, 4);
    const tier = e[10] | (e[11] << 8);
    if (e[8] === 0 || (e[8] & ~3) !== 0) return fail("an entry's access is not READ and/or WRITE");
    if (e[9] > 1) return fail("an entry's deny is neither 0 nor 1");
    if (tier < prevTier) return fail('entries out of tier order');
    prevTier = tier;
    if (len > WA_GRANTS_MAX_BYTES || base + off > 0xffffffff) return fail('a filter outside memory');
    const f = mem.range(base + off, len);
    if (f === null) return fail('a filter outside memory');
    if (!validFilter(f)) return fail("an entry's filter is not a valid subscription filter");
    total += len + 1;
    if (total > WA_GRANTS_MAX_BYTES) return fail('more than WA_GRANTS_MAX_BYTES of filters');
    read.push({ filter: f.slice(), access: e[8], deny: e[9] === 1, tier });
  }
  // Each tier's deny entries first (a stable sort keeps the rest in order).
  const ordered = read.map((g, i) => ({ g, i })).sort((a, b) => a.g.tier - b.g.tier || Number(b.g.deny) - Number(a.g.deny) || a.i - b.i);
  return new ClientGrants(ordered.map((x) => x.g), fallback);
}
