// as-pect configuration for every AssemblyScript spec in the repository.
//
// Which specs run is chosen with the ASPECT_SUITES environment variable, a comma-separated list of
// suite names (default: all of them), so each part's make target runs only its own specs:
//   sdk       sdk/assembly/__tests__/**/*.spec.ts        (make test-as)
//   policies  assembly/__tests__/**/*.spec.ts            (make test-policies)
//   examples  examples/**/__tests__/**/*.spec.ts         (make test-policies)
// Run as:  ASPECT_SUITES=sdk npx asp --config as-pect.config.js --as-config sdk/as-pect.asconfig.json
//
// Specs get the `mosquitto` host imports from the Node host (build/js/sdk/host/, built by `make`
// from sdk/host/*.ts): a spec sees the same topic matching, password checks and logging a policy
// gets in production. The test-only `wasm_auth_test` imports behind sdk/assembly/testing.ts
// (setClient, setOptionFile, logged lines) are in sdk/host/aspect.ts.
import { aspectInstantiate } from "./build/js/sdk/host/aspect.js";

const SUITES = {
  sdk: "sdk/assembly/__tests__/**/*.spec.ts",
  policies: "assembly/__tests__/**/*.spec.ts",
  examples: "examples/**/__tests__/**/*.spec.ts",
};

function selectedEntries() {
  const wanted = (process.env.ASPECT_SUITES || Object.keys(SUITES).join(","))
    .split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  return wanted.map((name) => {
    if (!(name in SUITES)) {
      throw new Error(`ASPECT_SUITES: unknown suite "${name}" (known: ${Object.keys(SUITES).join(", ")})`);
    }
    return SUITES[name];
  });
}

export default {
  entries: selectedEntries(),
  include: [],
  disclude: [/node_modules/],
  instantiate: aspectInstantiate,
  outputBinary: false,
};
