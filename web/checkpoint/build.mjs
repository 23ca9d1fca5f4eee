// Bundles src/main.js and what it imports (jsQR) into one file for the
// checkpoint page: internal/http/checkpoint/static/checkpoint.js, or the file
// named as the first argument (the Go test compares a fresh build with the
// committed bundle that way).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const outfile = process.argv[2] || fileURLToPath(new URL("../../internal/http/checkpoint/static/checkpoint.js", import.meta.url));

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
});
