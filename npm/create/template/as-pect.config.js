// as-pect (`npm test`): the specs under assembly/__tests__ run with the host's imports, so a hook
// sees the topic matching, password checks and option files it gets in the broker.
import { aspectInstantiate } from "@mosquitto-wasm-auth/host/aspect";

export default {
  entries: ["assembly/__tests__/**/*.spec.ts"],
  include: ["assembly/__tests__/**/*.include.ts"],
  disclude: [/node_modules/],
  instantiate: aspectInstantiate,
  outputBinary: false,
};
