// Byte-level helpers shared by the harness and its self-test.
//
// Field elements travel as decimal strings in the JSON protocol and as 32-byte
// little-endian integers in zerokit's serialisations. Byte strings travel as
// lowercase hex without a 0x prefix.

// BN254 scalar field (the circuit's field, "r").
export const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
// BN254 base field (coordinates of curve points, "q").
export const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

export class RequestError extends Error {}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const HEX = /^([0-9a-fA-F]{2})*$/;

// Parses a decimal string into a BigInt, rejecting anything that is not a
// canonical non-negative decimal below `bound` (R by default).
export function parseField(value, name, bound = R) {
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    throw new RequestError(`${name}: expected a decimal string, got ${JSON.stringify(value)}`);
  }
  const n = BigInt(value);
  if (n >= bound) {
    throw new RequestError(`${name}: value is not below the field modulus`);
  }
  return n;
}

export function parseHex(value, name, expectedLength) {
  if (typeof value !== 'string' || !HEX.test(value)) {
    throw new RequestError(`${name}: expected an even-length hex string without 0x`);
  }
  const bytes = Buffer.from(value, 'hex');
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new RequestError(`${name}: expected ${expectedLength} bytes, got ${bytes.length}`);
  }
  return new Uint8Array(bytes);
}

export function toHex(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

// 32-byte little-endian encoding of a field element (zerokit's fr_to_bytes_le).
export function fieldToLE(n) {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new Error('field element does not fit in 32 bytes');
  return out;
}

export function leToBigInt(bytes, offset = 0, length = bytes.length - offset) {
  let v = 0n;
  for (let i = offset + length - 1; i >= offset; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

// u64 little-endian length prefix used by zerokit's vector serialisations.
export function u64LE(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

export function concatBytes(parts) {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// zerokit vec_fr_to_bytes_le: [ count<8, LE u64> | element_0<32> | ... ]
export function vecFieldLE(values) {
  return concatBytes([u64LE(values.length), ...values.map(fieldToLE)]);
}

// zerokit vec_u8_to_bytes_le: [ count<8, LE u64> | byte_0 | ... ]
export function vecU8LE(values) {
  return concatBytes([u64LE(values.length), Uint8Array.from(values)]);
}

export const TREE_DEPTH = 20;

// Validates the "inputs" object of the protocol and returns BigInts/ints.
export function parseWitnessInputs(inputs) {
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw new RequestError('inputs: expected an object');
  }
  const out = {
    identity_secret: parseField(inputs.identity_secret, 'inputs.identity_secret'),
    user_message_limit: parseField(inputs.user_message_limit, 'inputs.user_message_limit'),
    message_id: parseField(inputs.message_id, 'inputs.message_id'),
    x: parseField(inputs.x, 'inputs.x'),
    external_nullifier: parseField(inputs.external_nullifier, 'inputs.external_nullifier'),
  };
  if (!Array.isArray(inputs.path_elements) || inputs.path_elements.length !== TREE_DEPTH) {
    throw new RequestError(`inputs.path_elements: expected an array of ${TREE_DEPTH} decimal strings`);
  }
  out.path_elements = inputs.path_elements.map((v, i) => parseField(v, `inputs.path_elements[${i}]`));
  if (!Array.isArray(inputs.identity_path_index) || inputs.identity_path_index.length !== TREE_DEPTH) {
    throw new RequestError(`inputs.identity_path_index: expected an array of ${TREE_DEPTH} integers 0/1`);
  }
  out.identity_path_index = inputs.identity_path_index.map((v, i) => {
    // Accept 0/1 as numbers or as the strings "0"/"1".
    if (v === 0 || v === 1 || v === '0' || v === '1') return Number(v);
    throw new RequestError(`inputs.identity_path_index[${i}]: expected 0 or 1`);
  });
  return out;
}

// zerokit (rln 0.8.x, npm @waku/zerokit-rln-wasm 0.2.1) protocol::serialize_witness:
// [ identity_secret<32> | user_message_limit<32> | message_id<32> |
//   path_elements: count<8> + 32*count | identity_path_index: count<8> + count bytes |
//   x<32> | external_nullifier<32> ]   (all integers little-endian)
export function serializeRLNWitness(w) {
  return concatBytes([
    fieldToLE(w.identity_secret),
    fieldToLE(w.user_message_limit),
    fieldToLE(w.message_id),
    vecFieldLE(w.path_elements),
    vecU8LE(w.identity_path_index),
    fieldToLE(w.x),
    fieldToLE(w.external_nullifier),
  ]);
}

// zerokit generate_rln_proof_with_witness output:
// [ proof<128> | root<32> | external_nullifier<32> | x<32> | y<32> | nullifier<32> ]
export const PROOF_LEN = 128;
export const PROOF_OUTPUT_LEN = PROOF_LEN + 5 * 32;

export function parseProofOutput(raw) {
  if (raw.length !== PROOF_OUTPUT_LEN) {
    throw new Error(`zerokit returned ${raw.length} bytes, expected ${PROOF_OUTPUT_LEN}`);
  }
  const field = (i) => leToBigInt(raw, PROOF_LEN + 32 * i, 32);
  return {
    proof: raw.slice(0, PROOF_LEN),
    root: field(0),
    external_nullifier: field(1),
    x: field(2),
    y: field(3),
    nullifier: field(4),
  };
}

// Input of zerokit verify_with_roots:
// [ proof<128> | root<32> | external_nullifier<32> | x<32> | y<32> | nullifier<32> |
//   signal_len<8, LE u64> | signal<signal_len> ]
export function serializeVerifyInput(proof, v, signal) {
  return concatBytes([
    proof,
    fieldToLE(v.root),
    fieldToLE(v.external_nullifier),
    fieldToLE(v.x),
    fieldToLE(v.y),
    fieldToLE(v.nullifier),
    u64LE(signal.length),
    signal,
  ]);
}

// Roots argument of verify_with_roots in this zerokit version: the plain
// concatenation of 32-byte little-endian roots, no count prefix (zerokit reads
// 32-byte chunks until the buffer is exhausted; an empty buffer skips the root
// check). See README.md for how this was confirmed.
export function serializeRoots(roots) {
  return concatBytes(roots.map(fieldToLE));
}

// Reads the Groth16 header of a snarkjs .zkey file (section 2): field moduli,
// number of wires (nVars) and public inputs.
export function readZkeyHeader(buf) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = String.fromCharCode(...buf.subarray(0, 4));
  if (magic !== 'zkey') throw new Error('not a snarkjs zkey file (bad magic)');
  const nSections = dv.getUint32(8, true);
  let pos = 12;
  const sections = new Map();
  for (let i = 0; i < nSections; i++) {
    const type = dv.getUint32(pos, true);
    const size = Number(dv.getBigUint64(pos + 4, true));
    sections.set(type, { start: pos + 12, size });
    pos += 12 + size;
  }
  const proto = sections.get(1);
  if (!proto || dv.getUint32(proto.start, true) !== 1) throw new Error('zkey is not a Groth16 key');
  const h = sections.get(2);
  if (!h) throw new Error('zkey has no Groth16 header section');
  let p = h.start;
  const n8q = dv.getUint32(p, true); p += 4;
  const q = leToBigInt(buf, p, n8q); p += n8q;
  const n8r = dv.getUint32(p, true); p += 4;
  const r = leToBigInt(buf, p, n8r); p += n8r;
  const nVars = dv.getUint32(p, true); p += 4;
  const nPublic = dv.getUint32(p, true); p += 4;
  const domainSize = dv.getUint32(p, true);
  return { q, r, nVars, nPublic, domainSize };
}
