// Embed a WIT world into a core module (what `jco embed` should do; the jco
// 1.35.0 CLI panics on it, so call the library function jco-transpile exports).
// usage: node embed.mjs CORE.wasm WIT_FILE WORLD OUT.wasm
import { readFile, writeFile } from "node:fs/promises";
import { componentEmbed } from "@bytecodealliance/jco-transpile/wasm-tools";

const [core, witFile, world, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: node embed.mjs CORE.wasm WIT_FILE WORLD OUT.wasm");
  process.exit(2);
}
const binary = await readFile(core);
const witSource = await readFile(witFile, "utf8");
const embedded = await componentEmbed({ binary, witSource, world });
await writeFile(out, embedded);
