// Modules the gate refuses by looking at them: over the size caps (8 MiB + 1, 100k functions,
// 5 MiB of data, ...), malformed sections and LEB128s, unknown imports, wrong signatures, ABI
// export rules. Each: wasm-auth-check, the broker and the Node host refuse it with one reason.
// Also the modules just inside each cap, which must load.
import { describe, test } from 'node:test';
import { expectRefused, generated, loadableSuite } from './refused.js';

const { refusals, paths } = generated('gen-static', ['size', 'malformed', 'imports', 'signatures', 'abi'], false, true);

describe('refused by the gate: broker refuses to start, Node host throws, same reason', () => {
  for (const r of refusals) {
    test(`${r.what} (${r.name})`, () => expectRefused(r));
  }
});

loadableSuite(paths);
