#!/usr/bin/env node
// rlnd interop harness: js-waku's peer-exchange discovery. A newest js-waku
// light node (@waku/sdk 0.0.36, createLightNode, on Node.js 22 from this
// folder's node_modules) is given one bootstrap peer and @waku/discovery's
// wakuPeerExchangeDiscovery, the way an application configures it: it
// learns service peers from the bootstrap node's peer-exchange answers,
// dials them, and light-pushes through them. It speaks the line protocol of
// ../waku.mjs and light.mjs (requests with "op" and "id", one answer a
// request, "event" lines at any time); README.md in the parent folder
// describes its operations.

import { RequestError, b64, bytesOf, fromB64, waitUntil, peerIdOf, emit, serveLines } from '../lib/harness.mjs';
import { readFileSync } from 'node:fs';

// stdout carries the protocol only: send any library logging to stderr.
for (const name of ['log', 'info', 'debug', 'warn']) {
  console[name] = (...args) => console.error(...args);
}

const sdk = await import('@waku/sdk');
const { wakuPeerExchangeDiscovery, PeerExchangeCodec } = await import('@waku/discovery');
const { proto_peer_exchange: protoPeerExchange, proto_lightpush: protoLightPush } = await import('@waku/proto');

const { createLightNode, createEncoder, utils, Protocols } = sdk;

const versionOf = (pkg) => JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), 'utf8')).version;
const SDK_VERSION = versionOf('@waku/sdk');
const DISCOVERY_VERSION = versionOf('@waku/discovery');

const DEFAULT_TIMEOUT_MS = 20000;

let node = null;
// { clusterId, networkConfig, bootstrapPeerId, identified: Set, queries: [], answers: [], learned: Map }
let state = null;

// ------------------------------------------------------------------ taps ----
//
// @waku/discovery and @waku/core look their @waku/proto codecs up on every
// call, so wrapping a codec function observes what js-waku reads and writes
// without changing it (as light.mjs does).

function observe(codec, name, see) {
  const fn = codec[name];
  codec[name] = (arg, ...rest) => {
    let out;
    try {
      out = fn(arg, ...rest);
    } catch (err) {
      see(arg, undefined, err);
      throw err;
    }
    see(arg, out, null);
    return out;
  };
}

// Every peer-exchange answer js-waku decoded: the bytes it read and the
// records its codec found in them. @waku/proto 0.0.15 has no status_code or
// status_desc (js-waku skips them as unknown fields), so the Go side reads
// the status from rpcB64.
observe(protoPeerExchange.PeerExchangeRPC, 'decode', (buf, rpc, err) => {
  if (!state) return;
  const rpcB64 = b64(bytesOf(buf));
  if (err) {
    state.answers.push({ decodeError: err.message, rpcB64 });
    return;
  }
  const res = rpc.response;
  state.answers.push({
    hasResponse: res !== undefined,
    recordsB64: (res?.peerInfos ?? []).map((p) => (p.enr ? b64(p.enr) : null)),
    rpcB64,
  });
});

let lightPushTap = null; // { requests: [], responses: [] }
observe(protoLightPush.LightPushRequestV3, 'encode', (obj, bytes) => {
  lightPushTap?.requests.push({ requestId: obj.requestId ?? '', pubsubTopic: obj.pubsubTopic ?? null, rpcB64: b64(bytes) });
});
observe(protoLightPush.LightPushResponseV3, 'decode', (buf, res, err) => {
  if (!lightPushTap) return;
  lightPushTap.responses.push(err
    ? { decodeError: err.message, rpcB64: b64(bytesOf(buf)) }
    : { requestId: res.requestId, statusCode: res.statusCode ?? null, statusDesc: res.statusDesc ?? null, relayPeerCount: res.relayPeerCount ?? null, rpcB64: b64(bytesOf(buf)) });
});

// --------------------------------------------------------------- helpers ----

function requireNode() {
  if (!node) throw new RequestError('not started: send {"op":"start",...} first');
}

function timeoutOf(req) {
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new RequestError('timeoutMs: expected a positive integer');
  return timeoutMs;
}

// describeENR is what js-waku read from one record of an answer.
function describeENR(enr) {
  if (!enr) return null;
  return {
    peerId: enr.peerId?.toString() ?? null,
    multiaddrs: (enr.peerInfo?.multiaddrs ?? []).map(String),
    waku2: enr.waku2 ?? null,
    shardInfo: enr.shardInfo ?? null,
  };
}

// wrapDiscovery is wakuPeerExchangeDiscovery() as libp2p builds it, with
// two observers on the instance: every query's outcome (PeerExchange.query,
// which the discovery calls for each peer that announces the protocol),
// and every "peer" event (a peer learned, which libp2p turns into
// peer:discovery and js-waku's dialer dials).
function wrapDiscovery() {
  const factory = wakuPeerExchangeDiscovery();
  return (components) => {
    const pxd = factory(components);
    const core = pxd.peerExchange;
    const query = core.query.bind(core);
    core.query = async (params) => {
      const t0 = Date.now();
      const entry = { peerId: params.peerId.toString(), numPeers: Number(params.numPeers), atMs: t0 };
      try {
        const res = await query(params);
        entry.error = res.error ?? null;
        entry.records = (res.peerInfos ?? []).map((p) => describeENR(p.ENR));
        return res;
      } catch (err) {
        entry.error = err instanceof Error ? err.message : String(err);
        throw err;
      } finally {
        entry.ms = Date.now() - t0;
        state?.queries.push(entry);
      }
    };
    pxd.addEventListener('peer', (evt) => {
      const peerId = evt.detail.id.toString();
      const multiaddrs = (evt.detail.multiaddrs ?? []).map(String);
      state?.learned.set(peerId, { peerId, multiaddrs });
      emit({ event: 'px-peer', peerId, multiaddrs });
    });
    return pxd;
  };
}

async function peersInStore() {
  const out = [];
  for (const p of await node.libp2p.peerStore.all()) {
    const bytes = p.metadata.get('shardInfo');
    let shardInfo = null;
    if (bytes) {
      try {
        shardInfo = utils.decodeRelayShard(bytes);
      } catch (err) {
        shardInfo = { error: String(err) };
      }
    }
    out.push({ peerId: p.id.toString(), protocols: p.protocols, tags: [...p.tags.keys()], shardInfo });
  }
  return out;
}

async function describe() {
  return {
    peerId: node.libp2p.peerId.toString(),
    sdk: SDK_VERSION,
    discovery: DISCOVERY_VERSION,
    bootstrapPeerId: state.bootstrapPeerId,
    connections: node.libp2p.getConnections().map((c) => ({
      peerId: c.remotePeer.toString(),
      remoteAddr: c.remoteAddr.toString(),
      status: c.status,
      direction: c.direction,
    })),
    peers: await peersInStore(),
    learned: [...state.learned.values()],
    queries: state.queries,
    answers: state.answers,
  };
}

// ---------------------------------------------------------------- ops ----

function ping() {
  return { ok: true };
}

function version() {
  return { ok: true, sdk: SDK_VERSION, discovery: DISCOVERY_VERSION, node: process.version };
}

// start creates the light node with the bootstrap peer (the sdk's
// bootstrapPeers: @libp2p/bootstrap, which js-waku's dialer dials) and
// peer-exchange discovery, and waits until identify with the bootstrap
// peer completed (which is when the discovery first asks it).
async function start(req) {
  if (node) throw new RequestError('already started');
  if (typeof req.peer !== 'string') throw new RequestError('peer: expected the multiaddr of the bootstrap node');
  if (!Number.isInteger(req.clusterId) || req.clusterId < 0 || req.clusterId > 65535) {
    throw new RequestError('clusterId: expected an integer 0..65535');
  }
  const numShards = req.numShardsInNetwork ?? 8;
  if (!Number.isInteger(numShards) || numShards < 1 || numShards > 1024) {
    throw new RequestError('numShardsInNetwork: expected an integer 1..1024');
  }
  const timeoutMs = timeoutOf(req);
  const bootstrapPeerId = peerIdOf(req.peer);
  const networkConfig = { clusterId: req.clusterId, numShardsInCluster: numShards };
  state = { clusterId: req.clusterId, networkConfig, bootstrapPeerId, identified: new Map(), queries: [], answers: [], learned: new Map() };
  node = await createLightNode({
    networkConfig,
    defaultBootstrap: false,
    bootstrapPeers: [req.peer],
    // js-waku dials only wss:// unless told otherwise (or NODE_ENV=test).
    libp2p: { filterMultiaddrs: false, hideWebSocketInfo: true, peerDiscovery: [wrapDiscovery()] },
  });
  node.libp2p.addEventListener('peer:connect', (evt) => emit({ event: 'peer:connect', peerId: evt.detail.toString() }));
  node.libp2p.addEventListener('peer:disconnect', (evt) => emit({ event: 'peer:disconnect', peerId: evt.detail.toString() }));
  node.libp2p.addEventListener('peer:identify', (evt) => {
    state.identified.set(evt.detail.peerId.toString(), evt.detail.protocols.map(String));
  });
  const t0 = Date.now();
  try {
    await waitUntil('identify with the bootstrap peer', () => state.identified.has(bootstrapPeerId), timeoutMs);
  } catch (err) {
    return { error: err.message, ...(await describe()) };
  }
  const protocols = state.identified.get(bootstrapPeerId);
  return { ok: true, ms: Date.now() - t0, bootstrapProtocols: protocols, announcesPeerExchange: protocols.includes(PeerExchangeCodec), ...(await describe()) };
}

// discover waits until the peer-exchange discovery has learned minPeers
// peers and js-waku has identified each of them (it dialled them).
async function discover(req) {
  requireNode();
  const minPeers = req.minPeers ?? 1;
  if (!Number.isInteger(minPeers) || minPeers < 1) throw new RequestError('minPeers: expected a positive integer');
  const timeoutMs = timeoutOf(req);
  const t0 = Date.now();
  try {
    await waitUntil(`${minPeers} peers learned by peer exchange and identified`,
      () => state.learned.size >= minPeers && [...state.learned.keys()].every((id) => state.identified.has(id)), timeoutMs);
  } catch (err) {
    return { error: err.message, ...(await describe()) };
  }
  return { ok: true, ms: Date.now() - t0, ...(await describe()) };
}

// lightpush waits for a light push peer (the sdk's waitForPeers) and sends
// one message with the sdk's light push (v3; no automatic retry, so that
// one send is one attempt). recipients are the peers that accepted it.
async function lightpush(req) {
  requireNode();
  if (typeof req.contentTopic !== 'string' || req.contentTopic === '') throw new RequestError('contentTopic: expected a non-empty string');
  const timeoutMs = timeoutOf(req);
  const routing = utils.createRoutingInfo(state.networkConfig, { contentTopic: req.contentTopic });
  const t0 = Date.now();
  try {
    await node.waitForPeers([Protocols.LightPush], timeoutMs);
  } catch (err) {
    return { error: `no light push peer within ${timeoutMs} ms: ${err?.message ?? String(err)}`, ...(await describe()) };
  }
  const message = { payload: fromB64(req.payloadB64 ?? '', 'payloadB64'), timestamp: new Date() };
  const encoder = createEncoder({ contentTopic: req.contentTopic, routingInfo: routing });
  const wire = await encoder.toWire(message);
  const tap = { requests: [], responses: [] };
  lightPushTap = tap;
  let res = null;
  let sendError = null;
  try {
    res = await node.lightPush.send(encoder, message, { autoRetry: false });
  } catch (err) {
    sendError = err instanceof Error ? err.message : String(err);
  } finally {
    if (lightPushTap === tap) lightPushTap = null;
  }
  const recipients = res ? res.successes.map(String) : [];
  const failures = res ? res.failures.map((f) => ({ error: String(f.error), peerId: f.peerId?.toString() ?? null })) : [];
  return {
    ok: recipients.length > 0 && failures.length === 0,
    ms: Date.now() - t0,
    pubsubTopic: routing.pubsubTopic,
    timestampMs: message.timestamp.valueOf(),
    wireB64: b64(wire),
    sendError,
    recipients,
    failures,
    requests: tap.requests,
    responses: tap.responses,
  };
}

async function info() {
  requireNode();
  return { ok: true, ...(await describe()) };
}

async function stop() {
  if (!node) return { ok: true };
  const n = node;
  node = null;
  await n.stop();
  return { ok: true };
}

const HANDLERS = { ping, version, start, discover, lightpush, info, stop };

// ------------------------------------------------------------------ loop ----

serveLines(HANDLERS, stop);
