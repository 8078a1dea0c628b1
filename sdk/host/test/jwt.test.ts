// jwt_verify in the Node host, against the same fixtures and the same expectations as the plugin's
// plugin-c/tests/test_jwt.c (tests/fixtures/jwt, tokens signed by node:crypto): every token's
// result, the words of each refusal, key files refused and why, keys loaded only at init, bounds,
// the token cap, the claims copy, and the fuel charged before each step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeOptionFileStreams, createImports, newOptionFileStreams } from '../imports.js';
import {
  JWT_BAD_SIGNATURE, JWT_EXPIRED, JWT_KEY_FILE, JWT_MALFORMED, JWT_NO_KEY, JWT_NOT_YET_VALID, JWT_UNSUPPORTED_ALG,
} from '../abi.js';
import { WA_FUEL_HOST_CALL, WA_FUEL_JWT_ED25519, WA_FUEL_JWT_HMAC, WA_FUEL_JWT_P256, WA_FUEL_JWT_P384, WA_FUEL_JWT_RSA_1K2, WA_MAX_JWT_BYTES } from '../limits.js';
import { BUILD, ROOT, WA_CALL, runBin } from './helpers.js';
import { main as cli } from '../cli.js';

const DIR = 'tests/fixtures/jwt/';
const CODES: Record<string, number> = {
  OK: 0, MALFORMED: JWT_MALFORMED, BAD_SIGNATURE: JWT_BAD_SIGNATURE, UNSUPPORTED_ALG: JWT_UNSUPPORTED_ALG,
  NO_KEY: JWT_NO_KEY, KEY_FILE: JWT_KEY_FILE, EXPIRED: JWT_EXPIRED, NOT_YET_VALID: JWT_NOT_YET_VALID,
};
const KEY_AT = 100;
const TOK_AT = 1024;
const OUT_AT = 20000;
const utf8 = new TextEncoder();

const tokens = readFileSync(join(ROOT, DIR, 'tokens.txt'), 'utf8').trim().split('\n').map((l) => {
  const [name, want, file, tok] = l.split(' ');
  return { name, want, file, tok };
});
const token = (name: string): { name: string; want: string; file: string; tok: string } => {
  const t = tokens.find((x) => x.name === name);
  assert.ok(t, name);
  return t;
};

function host(files: Record<string, string>) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, 0n);
  const streams = newOptionFileStreams();
  const lines: string[] = [];
  let inInit = false;
  let metered = false;
  const { mosquitto } = createImports({
    memory: () => memory,
    client: () => null,
    log: (_level, message) => lines.push(message),
    optionFile: (key) => (key in files ? files[key] : null),
    inInit: () => inInit,
    fuel: () => (metered ? fuel : null),
    optionFileStreams: streams,
  });
  const bytes = new Uint8Array(memory.buffer);
  const verify = (tok: string | Uint8Array, key: string, leeway = 0, cap = 8192): number => {
    const t = typeof tok === 'string' ? utf8.encode(tok) : tok;
    const k = utf8.encode(key);
    bytes.set(k, KEY_AT);
    bytes.set(t, TOK_AT);
    return mosquitto.jwt_verify(TOK_AT, t.length, KEY_AT, k.length, leeway, OUT_AT, cap);
  };
  const load = (key: string): number => {
    inInit = true;
    try {
      return verify('', key, 0, 0);
    } finally {
      inInit = false;
      closeOptionFileStreams(streams); // the init call returns
    }
  };
  const meter = (units: bigint | null): void => {
    metered = units !== null;
    if (units !== null) fuel.value = units;
  };
  return { verify, load, lines, bytes, meter, fuel: () => fuel.value as bigint, mosquitto };
}

const KEYS: Record<string, string> = {
  'hs.secret_file': DIR + 'hs.secret',
  'rsa.pem_file': DIR + 'rsa.pem',
  'rsa4096.pem_file': DIR + 'rsa4096.pem',
  'p256.pem_file': DIR + 'p256.pem',
  'p384.pem_file': DIR + 'p384.pem',
  'ed25519.pem_file': DIR + 'ed25519.pem',
  'jwks.json_file': DIR + 'jwks.json',
  missing_file: DIR + 'missing',
  empty_file: '',
  plain: DIR + 'rsa.pem',
};

process.chdir(ROOT);

function loaded() {
  const h = host(KEYS);
  for (const k of Object.keys(KEYS).slice(0, 7)) assert.equal(h.load(k), 0, k);
  return h;
}

test('every fixture token gets its expected result, each refusal one warning', () => {
  const h = loaded();
  assert.ok(tokens.length >= 40);
  for (const t of tokens) {
    h.lines.length = 0;
    const r = h.verify(t.tok, `${t.file}_file`);
    if (t.want === 'OK') {
      assert.ok(r > 0, `${t.name}: ${r} ${h.lines.join()}`);
      assert.equal(h.lines.length, 0);
      assert.equal(h.bytes[OUT_AT], 0x7b);
      assert.equal(h.bytes[OUT_AT + r - 1], 0x7d);
      const claims = JSON.parse(Buffer.from(h.bytes.subarray(OUT_AT, OUT_AT + r)).toString('utf8'));
      assert.equal(typeof claims.sub, 'string');
    } else {
      assert.equal(r, CODES[t.want], `${t.name}: ${h.lines.join()}`);
      assert.equal(h.lines.length, 1);
      assert.match(h.lines[0], /^jwt_verify \(/);
    }
  }
});

test('the words of refusals are the plugin\'s', () => {
  const h = loaded();
  const none = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.';
  assert.equal(h.verify(none, 'rsa.pem_file'), JWT_UNSUPPORTED_ALG);
  assert.equal(h.lines.at(-1), 'jwt_verify (rsa.pem_file): alg none is never accepted');
  assert.equal(h.verify('eyJhbGciOiJIUzI1NiJ9.e30.AAAA', 'rsa.pem_file'), JWT_NO_KEY);
  assert.equal(h.lines.at(-1), 'jwt_verify (rsa.pem_file): no key for alg HS256');
  assert.equal(h.verify('a.b', 'rsa.pem_file'), JWT_MALFORMED);
  assert.equal(h.lines.at(-1), 'jwt_verify (rsa.pem_file): not three base64url parts separated by dots');
  assert.equal(h.verify(none, 'missing_file'), JWT_KEY_FILE);
  assert.equal(h.lines.at(-1), 'jwt_verify (missing_file): keys not loaded (they load in plugin_init or security_init)');
  assert.equal(h.verify(none, 'empty_file'), JWT_KEY_FILE);
  assert.equal(h.lines.at(-1), 'jwt_verify (empty_file): option not set');
  assert.equal(h.verify(none, 'plain'), JWT_KEY_FILE);
  assert.equal(h.lines.at(-1), "jwt_verify (plain): not a file option (a key option's name ends in _file)");
  h.verify(token('jwks-wrong-kid').tok, 'jwks.json_file');
  assert.equal(h.lines.at(-1), 'jwt_verify (jwks.json_file): no key with kid "nope" for alg RS256');
  h.verify(token('expired').tok, 'rsa.pem_file', 7);
  assert.match(h.lines.at(-1) as string, /^jwt_verify \(rsa\.pem_file\): expired \(now \d+, leeway 7 s\)$/);
});

test('key files refused at init, and the option then refuses every token', () => {
  const bad: [string, string][] = [
    ['rsa1024.pem', 'RSA key of 1024 bits (2048 to 4096 are accepted)'],
    ['p521.pem', 'EC key on a curve other than P-256 and P-384'],
    ['private.pem', 'PEM file whose first block is not a PUBLIC KEY or CERTIFICATE'],
    ['not-a-key.pem', 'invalid PEM public key or certificate'],
    ['short.secret', 'HMAC secret of 9 bytes (32 to 1024 are accepted)'],
    ['jwks-bad-json.json', 'not a JWKS (a JSON object with a keys array)'],
    ['jwks-no-keys.json', 'no usable key (RSA, EC P-256/P-384, OKP Ed25519 or oct, use sig)'],
    ['jwks-bad-n.json', 'key 0: n or e is not base64url of an RSA key of at most 4096 bits'],
    ['jwks-off-curve.json', 'key 0: not a valid public key'],
    ['jwks-alg-mismatch.json', 'key 0: alg RS256 does not fit its kty'],
    ['missing', 'not found'],
    ['', 'not a regular file'],
  ];
  for (const [file, why] of bad) {
    const h = host({ k_file: DIR + file });
    assert.equal(h.load('k_file'), JWT_KEY_FILE, file);
    assert.deepEqual(h.lines, [`jwt_verify (k_file): key file ${DIR + file}: ${why}`]);
    assert.equal(h.verify('x.y.z', 'k_file'), JWT_KEY_FILE);
    assert.equal(h.lines.at(-1), 'jwt_verify (k_file): keys not loaded (the key file was refused at init)');
  }
});

test('bounds, the claims copy, the token cap', () => {
  const h = loaded();
  const tok = token('rs256').tok;
  const full = h.verify(tok, 'rsa.pem_file');
  assert.ok(full > 100);
  h.bytes.fill(0xaa, OUT_AT, OUT_AT + 64);
  assert.equal(h.verify(tok, 'rsa.pem_file', 0, 10), full);
  assert.equal(h.bytes[OUT_AT], 0x7b);
  assert.equal(h.bytes[OUT_AT + 10], 0xaa);
  assert.throws(() => h.mosquitto.jwt_verify(65536 - 4, 8, KEY_AT, 12, 0, OUT_AT, 10), /jwt_verify: pointer out of bounds/);
  assert.throws(() => h.mosquitto.jwt_verify(TOK_AT, 8, KEY_AT, 12, 0, 65536 - 5, 10), /jwt_verify: buffer out of bounds/);
  const big = new Uint8Array(WA_MAX_JWT_BYTES + 1).fill(0x41);
  big[12] = 0x2e;
  big[24] = 0x2e;
  assert.equal(h.verify(big, 'rsa.pem_file'), JWT_MALFORMED);
  assert.equal(h.lines.at(-1), 'jwt_verify (rsa.pem_file): token of 8193 bytes, above the cap of 8192 (WA_MAX_JWT_BYTES)');
  assert.equal(h.verify(big.subarray(0, WA_MAX_JWT_BYTES), 'rsa.pem_file'), JWT_MALFORMED);
  assert.equal(h.lines.at(-1), 'jwt_verify (rsa.pem_file): signature longer than 512 bytes');
});

test('fuel: paid before each step; a budget short of the total traps with nothing done', () => {
  const h = loaded();
  for (const [name, key] of [['rs256', 'rsa.pem_file'], ['es256', 'p256.pem_file'], ['jwks-hs256', 'jwks.json_file'], ['tampered', 'rsa.pem_file'], ['none', 'rsa.pem_file']]) {
    const tok = token(name).tok;
    const start = 1n << 40n;
    h.meter(start);
    h.verify(tok, key);
    const total = start - h.fuel();
    for (const budget of [total - 1n, total / 2n, BigInt(WA_FUEL_HOST_CALL), 0n]) {
      h.meter(budget);
      const before = h.lines.length;
      assert.throws(() => h.verify(tok, key), /fuel exhausted/, `${name} at ${budget}`);
      assert.equal(h.lines.length, before);
    }
    h.meter(total);
    h.verify(tok, key);
    assert.equal(h.fuel(), 0n);
    h.meter(null);
  }
});

test('prices by algorithm are the plugin\'s', () => {
  const h = loaded();
  const rows: [string, string, number][] = [
    ['hs256', 'hs.secret_file', WA_FUEL_JWT_HMAC], ['rs256', 'rsa.pem_file', 4 * WA_FUEL_JWT_RSA_1K2],
    ['rs256-4096', 'rsa4096.pem_file', 16 * WA_FUEL_JWT_RSA_1K2], ['es256', 'p256.pem_file', WA_FUEL_JWT_P256],
    ['es384', 'p384.pem_file', WA_FUEL_JWT_P384], ['eddsa', 'ed25519.pem_file', WA_FUEL_JWT_ED25519],
  ];
  for (const [name, key, min] of rows) {
    h.meter(1n << 40n);
    assert.ok(h.verify(token(name).tok, key) > 0);
    const spent = Number((1n << 40n) - h.fuel());
    assert.ok(spent >= min && spent <= min + 10000, `${name}: ${spent}`);
  }
  h.meter(null);
});

// ---- both hosts on the same module: the jwt example through wa-call (the plugin's runtime) and
// the Node CLI, request for request ----

function runCli(args: string[], input: string): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const status = cli(['call', ...args], { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, stdin: () => input });
  return { status, stdout, stderr };
}

// The clock is read by each host at its own moment: "now T" may differ by a second.
const sameClock = (s: string): string => s.replace(/now \d+/g, 'now T');

test('both hosts: the same answers and the same log lines for every fixture token', (t) => {
  const wasm = join(BUILD, 'examples/jwt.wasm');
  const byFile = new Map<string, string[]>();
  for (const f of tokens) {
    const user = f.name === 'bob' ? 'bob' : 'alice';
    const lines = byFile.get(f.file) ?? [];
    lines.push(`unpwd_check ${user} ${f.tok}`);
    byFile.set(f.file, lines);
  }
  let compared = 0;
  for (const [file, lines] of byFile) {
    const args = [wasm, '--opt', `jwt_key_file=${join(ROOT, DIR, file)}`, '--client-id', 'dev1', '--batch'];
    const input = lines.join('\n') + '\n';
    const c = runBin(WA_CALL, args, input);
    if (c === null) {
      t.skip(`no ${WA_CALL}`);
      return;
    }
    const n = runCli(args, input);
    assert.equal(n.status, c.status, `${file}: ${n.stderr}`);
    assert.equal(n.stdout, c.stdout, file);
    assert.equal(sameClock(n.stderr), sameClock(c.stderr), file);
    compared += lines.length;
  }
  assert.equal(compared, tokens.length);
});

test('both hosts run out of fuel at the same budget inside jwt_verify', (t) => {
  const wasm = join(BUILD, 'examples/jwt.wasm');
  for (const [name, file] of [['rs256', 'rsa.pem'], ['es256', 'p256.pem'], ['tampered', 'rsa.pem']]) {
    const call = ['--opt', `jwt_key_file=${join(ROOT, DIR, file)}`, '--client-id', 'dev1', 'unpwd_check', 'alice', token(name).tok];
    const run = (fuel: number) => runCli([wasm, '--opt', `wasm_fuel=${fuel}`, ...call], '');
    const enough = run(1e9);
    let lo = 1;
    let hi = 1e9;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (run(mid).stdout === enough.stdout && !run(mid).stderr.includes('fuel exhausted')) hi = mid;
      else lo = mid;
    }
    for (const fuel of [hi - 1, hi]) {
      const c = runBin(WA_CALL, [wasm, '--opt', `wasm_fuel=${fuel}`, ...call]);
      if (c === null) {
        t.skip(`no ${WA_CALL}`);
        return;
      }
      const n = run(fuel);
      assert.equal(n.stdout, c.stdout, `${name} at ${fuel}`);
      assert.equal(sameClock(n.stderr), sameClock(c.stderr), `${name} at ${fuel}`);
      if (fuel < hi) assert.match(c.stderr, /fuel exhausted/);
    }
  }
});
