// Bundles src/main.js with Leaflet into internal/http/render/static/map.js, and
// src/map.css with Leaflet's stylesheet (its images inlined) into
// internal/http/render/static/map.css; or into the folder named as the first
// argument (the Go test compares a fresh build with the committed files
// that way).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const outdir = process.argv[2] || fileURLToPath(new URL("../../internal/http/render/static/", import.meta.url));
const src = (f) => fileURLToPath(new URL("src/" + f, import.meta.url));

const common = {
  bundle: true,
  minify: true,
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
};

await build({ ...common, entryPoints: [src("main.js")], outfile: path.join(outdir, "map.js"), format: "iife", target: "es2020" });
await build({ ...common, entryPoints: [src("map.css")], outfile: path.join(outdir, "map.css"), loader: { ".png": "dataurl", ".svg": "dataurl" } });
