// Build the console into dist/: one ES module bundle (app.js), one stylesheet (app.css),
// index.html and the icon. Everything comes from node_modules at build time; the page
// loads nothing from anywhere else (the Content-Security-Policy says so too).
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "dist");

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: join(here, "src", "main.js") },
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  outdir: out,
  logLevel: "warning",
});
for (const file of ["index.html", "favicon.svg"]) await copyFile(join(here, "src", file), join(out, file));
