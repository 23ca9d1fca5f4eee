// Bundles src/main.js and what it imports — the checkpoint page's camera
// scanner (web/checkpoint/src/scan.js) and jsQR, resolved from this
// folder's own node_modules — into one file for the check-in page:
// internal/http/render/static/checkin.js, or the file named as the first argument
// (the Go test compares a fresh build with the committed bundle that way).
import { build } from "esbuild";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const outfile = process.argv[2] || fileURLToPath(new URL("../../internal/http/render/static/checkin.js", import.meta.url));

// scan.js lives in web/checkpoint: its "jsqr" is this package's, whatever
// is installed there.
const ownModules = {
  name: "own-modules",
  setup(b) {
    b.onResolve({ filter: /^jsqr$/ }, () => ({ path: require.resolve("jsqr") }));
  },
};

await build({
  entryPoints: [fileURLToPath(new URL("src/main.js", import.meta.url))],
  outfile,
  bundle: true,
  format: "iife",
  target: "es2022",
  minify: true,
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
  plugins: [ownModules],
});
