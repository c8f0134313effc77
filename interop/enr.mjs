#!/usr/bin/env node
// rlnd ENR interop harness: reads Waku ENRs with js-waku's @waku/enr 0.0.25
// (pinned in package.json), so that Go tests can check that js-waku reads the
// records rlnd makes as rlnd does. One JSON request a line on stdin, one JSON
// answer a line on stdout (lib/dispatch.mjs); one op:
//
//   {"op":"decode","enr":"enr:..."}
//     -> {"peer_id","ip","tcp","udp","ip6","tcp6","locations":[...],
//         "multiaddrs":[...],"waku2":{relay,store,filter,lightPush}|null,
//         "rs":{clusterId,shards}|null,"rsv":{clusterId,shards}|null,
//         "shard_info":{clusterId,shards}|null}
//     locations are getLocationMultiaddr("tcp4"/"tcp6") (no /p2p), multiaddrs
//     the multiaddrs entry as js-waku reads it.

import { createInterface } from 'node:readline';

import { EnrDecoder } from '@waku/enr';

import { handleLine } from './lib/dispatch.mjs';
import { RequestError } from './lib/codec.mjs';

// stdout carries the protocol only: send any library logging to stderr.
for (const name of ['log', 'info', 'debug', 'warn']) {
  console[name] = (...args) => console.error(...args);
}

const str = (v) => (v === undefined || v === null ? null : String(v));

function shards(info) {
  if (!info) return null;
  return { clusterId: info.clusterId, shards: [...info.shards] };
}

async function decode(req) {
  if (typeof req.enr !== 'string') throw new RequestError('enr: expected a string');
  const enr = await EnrDecoder.fromString(req.enr);
  const locations = ['tcp4', 'tcp6']
    .map((p) => enr.getLocationMultiaddr(p))
    .filter((m) => m !== undefined)
    .map(String);
  return {
    peer_id: str(enr.peerId),
    ip: enr.ip ?? null,
    tcp: enr.tcp ?? null,
    udp: enr.udp ?? null,
    ip6: enr.ip6 ?? null,
    tcp6: enr.tcp6 ?? null,
    locations,
    multiaddrs: (enr.multiaddrs ?? []).map(String),
    waku2: enr.waku2 ?? null,
    rs: shards(enr.rs),
    rsv: shards(enr.rsv),
    shard_info: shards(enr.shardInfo),
  };
}

const HANDLERS = { decode };

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
let queue = Promise.resolve();
rl.on('line', (line) => {
  if (line.trim() === '') return;
  queue = queue.then(async () => process.stdout.write(`${JSON.stringify(await handleLine(HANDLERS, line))}\n`));
});
rl.on('close', () => {
  queue.then(() => process.exit(0));
});
