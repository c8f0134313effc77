#!/usr/bin/env node
// rlnd interop harness: a long-lived process that answers newline-delimited JSON
// requests on stdin with one JSON line each on stdout, in order. It drives
// zerokit's RLNv2 compiled to WebAssembly (@waku/zerokit-rln-wasm 0.2.1) and
// snarkjs, so that Go tests can cross-check rlnd's witnesses and proofs.
// The protocol is described in README.md next to this file.

import { handleLine } from './lib/dispatch.mjs';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

import {
  PROOF_LEN,
  Q,
  R,
  RequestError,
  leToBigInt,
  parseField,
  parseHex,
  parseProofOutput,
  parseWitnessInputs,
  readZkeyHeader,
  serializeRLNWitness,
  serializeRoots,
  serializeVerifyInput,
  toHex,
  vecFieldLE,
} from './lib/codec.mjs';

// stdout carries the protocol only: send any library logging to stderr.
for (const name of ['log', 'info', 'debug', 'warn']) {
  console[name] = (...args) => console.error(...args);
}

const snarkjs = await import('snarkjs');

const ZEROKIT_PKG = '@waku/zerokit-rln-wasm';
const PUBLIC_SIGNALS = ['y', 'root', 'nullifier', 'x', 'external_nullifier'];
const MAX_BENCH_RUNS = 1000;

// ---------------------------------------------------------------- zerokit ----

let wasmModule = null; // compiled once, instantiated per generation
let generation = 0;

// A zerokit instance: the JS glue module (one per generation, because the glue
// keeps its wasm instance in a module-level variable), and the RLN context.
let zk = null; // { z, ctx, zkeyBytes, header, poisoned }
let vkey = null; // snarkjs verification key (parsed verification_key.json)

class TrapError extends Error {}

async function instantiateZerokit(zkeyBytes) {
  if (!wasmModule) {
    const wasmUrl = new URL(import.meta.resolve(`${ZEROKIT_PKG}/rln_wasm_bg.wasm`));
    wasmModule = new WebAssembly.Module(readFileSync(wasmUrl));
  }
  generation += 1;
  // A fresh module record (and so a fresh wasm instance) for each generation.
  const url = `${import.meta.resolve(ZEROKIT_PKG)}?instance=${generation}`;
  const z = await import(url);
  z.initSync({ module: wasmModule });
  const ctx = z.newRLN(zkeyBytes);
  return { z, ctx };
}

function isTrap(err) {
  return err instanceof WebAssembly.RuntimeError;
}

// Runs fn(z, ctx) against the zerokit instance. A wasm trap (a Rust panic)
// leaves the instance in an undefined state: it is replaced before the next use.
async function withZerokit(fn) {
  if (!zk) throw new RequestError('not initialised: send {"op":"init",...} first');
  if (zk.poisoned) {
    const fresh = await instantiateZerokit(zk.zkeyBytes);
    Object.assign(zk, fresh, { poisoned: false });
  }
  try {
    return fn(zk.z, zk.ctx);
  } catch (err) {
    if (isTrap(err)) {
      zk.poisoned = true;
      throw new TrapError(`zerokit trapped (${err}); the instance will be recreated`);
    }
    throw err;
  }
}

function zerokitMessage(err) {
  if (err instanceof Error) return err.message;
  return String(err);
}

// ------------------------------------------------------------- validation ----

function requireObject(value, name) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RequestError(`${name}: expected an object`);
  }
  return value;
}

function parseWitness(witness) {
  const nVars = zk.header.nVars;
  if (!Array.isArray(witness)) throw new RequestError('witness: expected an array of decimal strings');
  if (witness.length !== nVars) {
    throw new RequestError(`witness: expected ${nVars} values (the circuit's wires), got ${witness.length}`);
  }
  const out = witness.map((v, i) => parseField(v, `witness[${i}]`));
  if (out[0] !== 1n) throw new RequestError('witness[0]: must be "1"');
  return out;
}

function checkMessageId(w) {
  if (w.message_id >= w.user_message_limit) {
    throw new RequestError('inputs.message_id: must be below inputs.user_message_limit');
  }
}

function parseRuns(runs) {
  if (runs === undefined) return 30;
  if (!Number.isInteger(runs) || runs < 1 || runs > MAX_BENCH_RUNS) {
    throw new RequestError(`runs: expected an integer from 1 to ${MAX_BENCH_RUNS}`);
  }
  return runs;
}

function parseG1(p, name) {
  if (!Array.isArray(p) || p.length !== 3) throw new RequestError(`${name}: expected 3 decimal strings`);
  return p.map((v, i) => parseField(v, `${name}[${i}]`, 1n << 256n));
}

function parseG2(p, name) {
  if (!Array.isArray(p) || p.length !== 3) throw new RequestError(`${name}: expected 3 pairs of decimal strings`);
  return p.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new RequestError(`${name}[${i}]: expected [c0, c1]`);
    return pair.map((v, j) => parseField(v, `${name}[${i}][${j}]`, 1n << 256n));
  });
}

// ---------------------------------------------------------------- handlers ----

function ping() {
  return { ok: true };
}

async function init(req) {
  if (typeof req.zkey !== 'string' || typeof req.vkey !== 'string') {
    throw new RequestError('init: "zkey" and "vkey" must be file paths');
  }
  let zkeyBytes, vkeyText;
  try {
    zkeyBytes = new Uint8Array(readFileSync(req.zkey));
    vkeyText = readFileSync(req.vkey, 'utf8');
  } catch (err) {
    throw new RequestError(`init: ${err.message}`);
  }
  let header;
  try {
    header = readZkeyHeader(zkeyBytes);
  } catch (err) {
    throw new RequestError(`init: ${req.zkey}: ${err.message}`);
  }
  if (header.r !== R || header.q !== Q) throw new RequestError('init: zkey is not over BN254');
  let vk;
  try {
    vk = JSON.parse(vkeyText);
  } catch (err) {
    throw new RequestError(`init: ${req.vkey}: ${err.message}`);
  }
  if (vk.protocol !== 'groth16' || vk.nPublic !== header.nPublic || vk.nPublic !== PUBLIC_SIGNALS.length) {
    throw new RequestError(
      `init: vkey must be groth16 with nPublic ${PUBLIC_SIGNALS.length} (zkey has ${header.nPublic}, vkey ${vk.nPublic})`,
    );
  }
  let instance;
  try {
    instance = await instantiateZerokit(zkeyBytes);
  } catch (err) {
    throw new RequestError(`init: zerokit newRLN rejected ${req.zkey}: ${zerokitMessage(err)}`);
  }
  zk = { ...instance, zkeyBytes, header, poisoned: false };
  vkey = vk;
  return { ok: true, witness_len: header.nVars };
}

function proveOnce(z, ctx, witness, serialized) {
  return z.generateRLNProofWithWitness(ctx, witness, serialized);
}

async function zerokitProve(req) {
  if (!zk) throw new RequestError('not initialised: send {"op":"init",...} first');
  const witness = parseWitness(req.witness);
  const inputs = parseWitnessInputs(req.inputs);
  checkMessageId(inputs);
  const serialized = serializeRLNWitness(inputs);
  let raw;
  try {
    raw = await withZerokit((z, ctx) => proveOnce(z, ctx, witness, serialized));
  } catch (err) {
    throw new Error(`zerokit generateRLNProofWithWitness: ${zerokitMessage(err)}`);
  }
  const out = parseProofOutput(raw);
  const values = { y: out.y, root: out.root, nullifier: out.nullifier, x: out.x, external_nullifier: out.external_nullifier };
  // zerokit computes these values from "inputs", not from the witness; report
  // whether the witness's public wires (1..5) agree with them.
  const consistent = PUBLIC_SIGNALS.every((k, i) => witness[i + 1] === values[k]);
  return {
    proof: toHex(out.proof),
    y: out.y.toString(),
    root: out.root.toString(),
    nullifier: out.nullifier.toString(),
    x: out.x.toString(),
    external_nullifier: out.external_nullifier.toString(),
    raw: toHex(raw),
    witness_consistent: consistent,
  };
}

function parseVerifyRequest(req) {
  const proof = parseHex(req.proof, 'proof', PROOF_LEN);
  const values = {};
  for (const k of PUBLIC_SIGNALS) values[k] = parseField(req[k], k);
  if (!Array.isArray(req.roots)) throw new RequestError('roots: expected an array of decimal strings (may be empty)');
  const roots = req.roots.map((v, i) => parseField(v, `roots[${i}]`));
  if (req.signal === undefined) {
    throw new RequestError(
      'signal: required (hex). zerokit 0.2.1 verifyWithRoots checks x == keccak256(signal) mod r',
    );
  }
  const signal = parseHex(req.signal, 'signal');
  return { proof, values, roots, signal };
}

async function zerokitVerify(req) {
  if (!zk) throw new RequestError('not initialised: send {"op":"init",...} first');
  const { proof, values, roots, signal } = parseVerifyRequest(req);
  const input = serializeVerifyInput(proof, values, signal);
  const rootsBytes = serializeRoots(roots);
  try {
    const valid = await withZerokit((z, ctx) => z.verifyWithRoots(ctx, input, rootsBytes));
    return { valid: valid === true };
  } catch (err) {
    if (err instanceof RequestError || err instanceof TrapError) throw err;
    // zerokit reports proof bytes that do not decode to curve points (bad
    // flags, x not on the curve, non-canonical coordinates) as an error: for
    // the caller that is a proof that does not verify.
    return { valid: false, reason: zerokitMessage(err).replace(/\s+/g, ' ').trim() };
  }
}

async function snarkjsVerify(req) {
  if (!vkey) throw new RequestError('not initialised: send {"op":"init",...} first');
  const p = requireObject(req.proof, 'proof');
  const a = parseG1(p.pi_a, 'proof.pi_a');
  const b = parseG2(p.pi_b, 'proof.pi_b');
  const c = parseG1(p.pi_c, 'proof.pi_c');
  if (!Array.isArray(req.public) || req.public.length !== vkey.nPublic) {
    throw new RequestError(`public: expected ${vkey.nPublic} decimal strings [${PUBLIC_SIGNALS.join(', ')}]`);
  }
  const pub = req.public.map((v, i) => parseField(v, `public[${i}]`));
  // Coordinates are canonical base-field elements; snarkjs would silently
  // reduce larger ones, so they are rejected here as an invalid proof.
  const coords = [...a, ...b.flat(), ...c];
  if (coords.some((v) => v >= Q)) return { valid: false, reason: 'coordinate not below q' };
  const proof = {
    pi_a: a.map(String),
    pi_b: b.map((pair) => pair.map(String)),
    pi_c: c.map(String),
    protocol: 'groth16',
    curve: 'bn128',
  };
  const valid = await snarkjs.groth16.verify(vkey, pub.map(String), proof);
  return { valid: valid === true };
}

async function zerokitBench(req) {
  if (!zk) throw new RequestError('not initialised: send {"op":"init",...} first');
  const witness = parseWitness(req.witness);
  const inputs = parseWitnessInputs(req.inputs);
  checkMessageId(inputs);
  const runs = parseRuns(req.runs);
  const signal = req.signal === undefined ? new Uint8Array() : parseHex(req.signal, 'signal');
  const serialized = serializeRLNWitness(inputs);
  const prove_ms = [];
  const verify_ms = [];
  let allValid = true;
  await withZerokit((z, ctx) => {
    for (let i = 0; i <= runs; i++) {
      const t0 = performance.now();
      const raw = proveOnce(z, ctx, witness, serialized);
      const t1 = performance.now();
      const out = parseProofOutput(raw);
      const input = serializeVerifyInput(out.proof, out, signal);
      const rootsBytes = serializeRoots([out.root]);
      const t2 = performance.now();
      const valid = z.verifyWithRoots(ctx, input, rootsBytes);
      const t3 = performance.now();
      if (i === 0) continue; // warm-up run, not counted
      prove_ms.push(t1 - t0);
      verify_ms.push(t3 - t2);
      allValid = allValid && valid === true;
    }
  });
  // zerokit runs the Groth16 check before comparing x with keccak256(signal),
  // so the timing does not depend on the signal; "valid" does.
  return { prove_ms, verify_ms, valid: allValid };
}

// Extra operations for cross-checking the Go side's encodings.

async function zerokitWitnessJson(req) {
  if (!zk) throw new RequestError('not initialised: send {"op":"init",...} first');
  const inputs = parseWitnessInputs(req.inputs);
  const serialized = serializeRLNWitness(inputs);
  let obj;
  try {
    obj = await withZerokit((z, ctx) => z.rlnWitnessToJson(ctx, serialized));
  } catch (err) {
    throw new Error(`zerokit rlnWitnessToJson: ${zerokitMessage(err)}`);
  }
  const json = JSON.parse(JSON.stringify(obj, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
  return { serialized: toHex(serialized), json };
}

async function zerokitHash(req) {
  if (!zk) throw new RequestError('not initialised: send {"op":"init",...} first');
  const signal = parseHex(req.signal, 'signal');
  const out = await withZerokit((z) => z.hash(signal));
  return { x: leToBigInt(out).toString() };
}

async function zerokitPoseidon(req) {
  if (!zk) throw new RequestError('not initialised: send {"op":"init",...} first');
  if (!Array.isArray(req.inputs) || req.inputs.length < 1 || req.inputs.length > 16) {
    throw new RequestError('inputs: expected 1 to 16 decimal strings');
  }
  const values = req.inputs.map((v, i) => parseField(v, `inputs[${i}]`));
  const out = await withZerokit((z) => z.poseidonHash(vecFieldLE(values)));
  return { hash: leToBigInt(out).toString() };
}

const HANDLERS = {
  ping,
  init,
  zerokit_prove: zerokitProve,
  zerokit_verify: zerokitVerify,
  snarkjs_verify: snarkjsVerify,
  zerokit_bench: zerokitBench,
  zerokit_witness_json: zerokitWitnessJson,
  zerokit_hash: zerokitHash,
  zerokit_poseidon: zerokitPoseidon,
};

// ------------------------------------------------------------------- loop ----


function write(obj) {
  return new Promise((resolve) => {
    process.stdout.write(`${JSON.stringify(obj)}\n`, () => resolve());
  });
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
let queue = Promise.resolve();
rl.on('line', (line) => {
  if (line.trim() === '') return;
  queue = queue.then(async () => write(await handleLine(HANDLERS, line)));
});
rl.on('close', () => {
  // snarkjs keeps worker threads alive: exit explicitly once all answers are out.
  queue.then(() => process.exit(0));
});
