// The built policy (build/policy.wasm, `npm run build`) in the Node host: loaded as the plugin
// loads it (the same module gate, fuel metering and failure handling), asked what the broker
// would ask. `npm test` builds it first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadPolicy } from "@mosquitto-wasm-auth/host";

const WASM = "build/policy.wasm";

function load(options = [["users_file", "data/users.txt"]]) {
  const logs = [];
  const policy = loadPolicy(readFileSync(WASM), {
    options: [["wasm_module", WASM], ...options],
    name: WASM,
    onLog: (level, message) => logs.push(message),
  });
  return { policy, logs };
}

test("logins: known users with their password", () => {
  const { policy, logs } = load();
  assert.deepEqual(logs, ["2 users"]);
  assert.equal(policy.unpwdCheck("alice", "alice-secret"), "allow");
  assert.equal(policy.unpwdCheck("alice", "wrong"), "deny");
  assert.equal(policy.unpwdCheck(null, null), "deny");
  policy.cleanup();
});

test("topics: each user's own subtree and public", () => {
  const { policy } = load();
  const acl = (username, topic, access) => policy.aclCheck({ clientid: "client-1", username, topic, access });
  assert.equal(acl("bob", "users/bob/door", 2), "allow");
  assert.equal(acl("bob", "users/alice/door", 2), "deny");
  assert.equal(acl("bob", "public/news", 1), "allow");
  assert.equal(acl("bob", "#", 4), "allow");
  assert.equal(acl("bob", "users/alice/door", 1), "deny");
  assert.equal(acl(null, "public/news", 1), "deny");
  policy.cleanup();
});

test("the broker would refuse to start without users_file, and says why", () => {
  const logs = [];
  const bytes = readFileSync(WASM);
  assert.throws(() => loadPolicy(bytes, { options: [["wasm_module", WASM]], onLog: (level, m) => logs.push(m) }), /plugin_init/);
  assert.deepEqual(logs, ["plugin_opt_users_file is not set"]);
});
