// Modules that pass the gate's static checks but fail while loading: a trap (or endless loop,
// recursion, memory bomb) in the start function, a data segment outside memory, a wrong ABI
// version, a bad request buffer, a trap in plugin_init or security_init. Each: the broker
// refuses to start with one line naming the file and the reason, and the Node host's
// loadPolicy throws the same reason.
import { describe, test } from 'node:test';
import { expectRefused, generated, LIFECYCLE_REFUSALS } from './refused.js';

const { refusals } = generated('gen-load', ['size', 'abi', 'start'], true, false);

describe('refused while loading: broker refuses to start, Node host throws, same reason', () => {
  for (const r of [...refusals, ...LIFECYCLE_REFUSALS]) {
    test(`${r.what} (${r.name})`, () => expectRefused(r));
  }
});
