// The helpers that the js-waku harnesses (waku.mjs on sdk 0.0.27, light/light.mjs
// on the newest sdk) share: they depend on no js-waku version.

import { createInterface } from 'node:readline';

import { RequestError } from './codec.mjs';
import { handleLine } from './dispatch.mjs';

export { RequestError };

// POLL_MS is how often waitUntil checks its condition.
export const POLL_MS = 25;

export const b64 = (u8) => Buffer.from(u8).toString('base64');
export const hex = (u8) => Buffer.from(u8).toString('hex');
export const bytesOf = (buf) => (buf instanceof Uint8Array ? buf : buf.subarray());

// fromB64 decodes a canonical base64 request field.
export function fromB64(value, name) {
  if (typeof value !== 'string') throw new RequestError(`${name}: expected a base64 string`);
  const buf = Buffer.from(value, 'base64');
  if (buf.toString('base64').replace(/=+$/, '') !== value.replace(/=+$/, '')) {
    throw new RequestError(`${name}: not canonical base64`);
  }
  return new Uint8Array(buf);
}

// emit writes one JSON object a line to the Go side.
export function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// waitUntil polls cond until it returns a truthy value or the time is up.
export async function waitUntil(what, cond, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

// peerIdOf is the peer id at the end of a /p2p/ multiaddr.
export function peerIdOf(addr) {
  const i = addr.lastIndexOf('/p2p/');
  if (i < 0) throw new RequestError('peer: the multiaddr must end in /p2p/<peer id>');
  return addr.slice(i + 5);
}

// serveLines answers each request line on stdin with its handler's result
// (one line of JSON on stdout), one request at a time; when stdin closes it
// waits for the last answer, calls stop and exits.
export function serveLines(handlers, stop) {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  let queue = Promise.resolve();
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    queue = queue.then(async () => emit(await handleLine(handlers, line)));
  });
  rl.on('close', () => {
    const t0 = Date.now();
    queue
      .then(() => stop())
      .then(() => console.error(`stopped in ${Date.now() - t0} ms`))
      .catch(() => {})
      .then(() => process.exit(0));
  });
}
