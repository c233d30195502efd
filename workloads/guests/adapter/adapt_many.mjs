// Adapt many preview1 modules in one node process (what `jco new CORE --wasi-command
// --adapt wasi_ephemeral_nn=ADAPTER -o OUT` does for one, without a process per module).
// Used by the tests for the conformance guests.
// usage: node adapt_many.mjs ADAPTER.wasm CORE1.wasm OUT1.wasm [CORE2.wasm OUT2.wasm ...]
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// jco is installed once, beside the component build (../component/node_modules).
const nodeModules = join(dirname(fileURLToPath(import.meta.url)), "..", "component", "node_modules");
const tools = join(nodeModules, "@bytecodealliance", "jco-transpile", "dist", "wasm-tools.js");
const command = join(nodeModules, "@bytecodealliance", "jco", "lib", "wasi_snapshot_preview1.command.wasm");
const { componentNew } = await import(pathToFileURL(tools).href);

const [adapterPath, ...pairs] = process.argv.slice(2);
if (!adapterPath || pairs.length === 0 || pairs.length % 2) {
  console.error("usage: node adapt_many.mjs ADAPTER.wasm CORE.wasm OUT.wasm [CORE OUT]...");
  process.exit(2);
}
const adapters = [
  ["wasi_snapshot_preview1", await readFile(command)],
  ["wasi_ephemeral_nn", await readFile(adapterPath)],
];
for (let i = 0; i < pairs.length; i += 2) {
  await writeFile(pairs[i + 1], await componentNew(await readFile(pairs[i]), adapters));
}
