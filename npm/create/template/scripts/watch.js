// `npm run watch`: rebuilds and checks the policy whenever a file under assembly/ or data/
// changes (fs.watch, recursive: Node 20 or later).
import { spawn } from "node:child_process";
import { watch } from "node:fs";

let timer = null;
let running = false;
let again = false;

function rebuild() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  spawn(npm, ["run", "--silent", "check"], { stdio: "inherit" }).on("close", () => {
    running = false;
    if (again) {
      again = false;
      rebuild();
    }
  });
}

for (const dir of ["assembly", "data"]) {
  watch(dir, { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(rebuild, 200);
  });
}
console.log("watching assembly/ and data/ (Ctrl-C to stop)");
rebuild();
