// Compiles contracts/src with the pinned solc-js (package-lock.json) through
// the standard-JSON API and writes <Name>.abi and <Name>.bin for the
// contracts in OUTPUTS. Deterministic: fixed settings, source unit names
// relative to the source directory.
//
//   node build.mjs [--src DIR] [--out DIR]     (defaults: ./src, ./build)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const here = path.dirname(fileURLToPath(import.meta.url));
const SOLC_VERSION = "0.8.28";
const SETTINGS = {
  viaIR: true,
  optimizer: { enabled: true, runs: 1000 },
  evmVersion: "paris",
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};
// Source unit -> contract names written to the output directory.
const OUTPUTS = {
  "RlnRegistry.sol": ["RlnRegistry"],
  "RlnRegistryProxy.sol": ["RlnRegistryProxy"],
  "LinearPriceCalculator.sol": ["LinearPriceCalculator"],
  "dev/DevRlnRegistry.sol": ["DevRlnRegistry"],
  "test/TestToken.sol": ["TestToken"],
};

function parseArgs(argv) {
  const opts = { src: path.join(here, "src"), out: path.join(here, "build") };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, "");
    if (!(key in opts) || i + 1 >= argv.length) {
      throw new Error(`usage: node build.mjs [--src DIR] [--out DIR] (bad argument ${argv[i]})`);
    }
    opts[key] = path.resolve(argv[++i]);
  }
  return opts;
}

function collectSources(dir, prefix = "") {
  const sources = {};
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(sources, collectSources(dir, rel));
    else if (entry.name.endsWith(".sol")) sources[rel] = { content: fs.readFileSync(path.join(dir, rel), "utf8") };
  }
  return sources;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const version = solc.version();
  if (!version.startsWith(SOLC_VERSION + "+")) {
    throw new Error(`solc ${version} installed, want ${SOLC_VERSION}: run npm ci in contracts/`);
  }
  const input = { language: "Solidity", sources: collectSources(opts.src), settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  let failed = false;
  for (const e of output.errors ?? []) {
    if (e.severity === "error") failed = true;
    process.stderr.write(e.formattedMessage ?? e.message);
  }
  if (failed) throw new Error("compilation failed");

  fs.mkdirSync(opts.out, { recursive: true });
  for (const [unit, names] of Object.entries(OUTPUTS)) {
    for (const name of names) {
      const c = output.contracts?.[unit]?.[name];
      if (!c) throw new Error(`no contract ${name} in ${unit}`);
      fs.writeFileSync(path.join(opts.out, `${name}.abi`), JSON.stringify(c.abi, null, 2) + "\n");
      fs.writeFileSync(path.join(opts.out, `${name}.bin`), c.evm.bytecode.object); // abigen takes the file verbatim: no newline
      const runtime = c.evm.deployedBytecode.object.length / 2;
      if (runtime > 24576) throw new Error(`${name}: ${runtime} bytes of runtime code, over the EIP-170 limit of 24576`);
      console.log(`${name}: ${runtime} bytes of runtime code (solc ${version})`);
    }
  }
}

try {
  main();
} catch (err) {
  console.error(`build.mjs: ${err.message}`);
  process.exit(1);
}
