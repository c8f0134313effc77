#!/usr/bin/env node
// rlnd interop harness for the newest js-waku light node: @waku/sdk 0.0.36
// (createLightNode: light push v3 and v2, filter v2, store v3, on js-waku's
// default libp2p 2.x stack: websocket, noise, mplex). It runs on Node.js 22
// (the sdk needs it), from this folder's own node_modules, and speaks the
// same line protocol as ../waku.mjs (requests with "op" and "id", one answer
// a request, "event" lines at any time), light mode only. README.md in the
// parent folder describes it.

import { RequestError, b64, hex, bytesOf, fromB64, waitUntil, peerIdOf, emit, serveLines } from '../lib/harness.mjs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

// stdout carries the protocol only: send any library logging to stderr.
for (const name of ['log', 'info', 'debug', 'warn']) {
  console[name] = (...args) => console.error(...args);
}

const sdk = await import('@waku/sdk');
const {
  proto_message: protoMessage,
  proto_lightpush: protoLightPush,
  proto_store: protoStore,
  proto_filter_v2: protoFilter,
  proto_metadata: protoMetadata,
} = await import('@waku/proto');
const { multiaddr } = await import('@multiformats/multiaddr');

const { createLightNode, createEncoder, createDecoder, utils, Protocols } = sdk;

// The sdk's version, as installed next to this file.
const SDK_VERSION = JSON.parse(readFileSync(new URL('./node_modules/@waku/sdk/package.json', import.meta.url), 'utf8')).version;

const DEFAULT_TIMEOUT_MS = 20000;

let node = null; // the js-waku node; start may follow stop
let state = null; // { clusterId, numShards, remotePeerId, identified, metadataReads }
const subscriptions = new Map(); // contentTopic -> { decoder, pubsubTopic }

// ------------------------------------------------------------------ taps ----
//
// @waku/core looks its @waku/proto codecs up on every call, so wrapping the
// codec functions observes every message js-waku writes or reads without
// changing what it does. An op runs at a time, and each installs its own
// tap while it runs.

let lightPushTap = null; // { requests: [], responses: [] }
let storeTap = null; // { requests: [], responses: [] }
let filterTap = null; // { requests: [], responses: [] }

// observe wraps codec[name] so that see(argument, result, error) runs after
// each call; the call's outcome is unchanged.
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

// Light push v3 (LightPushRequestV3 / LightPushResponseV3) and v2 (PushRpc).
observe(protoLightPush.LightPushRequestV3, 'encode', (obj, bytes) => {
  lightPushTap?.requests.push({ protocol: 'v3', requestId: obj.requestId ?? '', pubsubTopic: obj.pubsubTopic ?? null, rpcB64: b64(bytes) });
});
observe(protoLightPush.LightPushResponseV3, 'decode', (buf, res, err) => {
  if (!lightPushTap) return;
  if (err) {
    lightPushTap.responses.push({ protocol: 'v3', decodeError: err.message, rpcB64: b64(bytesOf(buf)) });
    return;
  }
  lightPushTap.responses.push({
    protocol: 'v3',
    requestId: res.requestId,
    statusCode: res.statusCode ?? null,
    statusDesc: res.statusDesc ?? null,
    relayPeerCount: res.relayPeerCount ?? null,
    rpcB64: b64(bytesOf(buf)),
  });
});
observe(protoLightPush.PushRpc, 'encode', (obj, bytes) => {
  if (!obj?.request) return;
  lightPushTap?.requests.push({ protocol: 'v2', requestId: obj.requestId ?? '', pubsubTopic: obj.request.pubsubTopic ?? null, rpcB64: b64(bytes) });
});
observe(protoLightPush.PushRpc, 'decode', (buf, rpc, err) => {
  if (!lightPushTap) return;
  if (err) {
    lightPushTap.responses.push({ protocol: 'v2', decodeError: err.message, rpcB64: b64(bytesOf(buf)) });
    return;
  }
  lightPushTap.responses.push({
    protocol: 'v2',
    requestId: rpc.requestId,
    hasResponse: rpc.response !== undefined,
    isSuccess: rpc.response?.isSuccess ?? null,
    info: rpc.response?.info ?? null,
    rpcB64: b64(bytesOf(buf)),
  });
});

observe(protoStore.StoreQueryRequest, 'encode', (_obj, bytes) => storeTap?.requests.push(b64(bytes)));
observe(protoStore.StoreQueryResponse, 'decode', (buf, _res, err) => {
  if (!err) storeTap?.responses.push(b64(bytesOf(buf)));
});
observe(protoFilter.FilterSubscribeRequest, 'encode', (_obj, bytes) => filterTap?.requests.push(b64(bytes)));
observe(protoFilter.FilterSubscribeResponse, 'decode', (buf, _res, err) => {
  if (!err) filterTap?.responses.push(b64(bytesOf(buf)));
});
observe(protoFilter.MessagePush, 'decode', (buf, _res, err) => {
  if (!err) emit({ event: 'filter-push', pushB64: b64(bytesOf(buf)) });
});

// js-waku reads the remote's metadata with WakuMetadataResponse.decode both
// when it queries (the answer) and when it is queried (its handler answers,
// then reads to the end of the stream and decodes the remote's *request*
// as a response). Whatever it decoded there is what it then stores as the
// remote's shard info, so the bytes are kept as evidence.
observe(protoMetadata.WakuMetadataResponse, 'decode', (buf, res, err) => {
  state?.metadataReads.push({
    bytesB64: b64(bytesOf(buf)),
    clusterId: res?.clusterId ?? null,
    shards: res?.shards ?? null,
    error: err ? err.message : null,
  });
});

// --------------------------------------------------------------- helpers ----

function fromHex(value, name) {
  if (typeof value !== 'string' || !/^([0-9a-f]{2})*$/.test(value)) throw new RequestError(`${name}: expected lowercase hex`);
  return new Uint8Array(Buffer.from(value, 'hex'));
}

function requireNode() {
  if (!node) throw new RequestError('not started: send {"op":"start",...} first');
}

// withTimeout races promise against timeoutMs; it resolves to
// { value } or { timedOut: true }, and rejects as promise does.
async function withTimeout(promise, timeoutMs) {
  promise.catch(() => {}); // a late failure after the timeout
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), timeoutMs);
  });
  try {
    return await Promise.race([promise.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function timeoutOf(req) {
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new RequestError('timeoutMs: expected a positive integer');
  return timeoutMs;
}

function connectionsTo(peerIdStr) {
  return node.libp2p.getConnections().filter((c) => c.remotePeer.toString() === peerIdStr);
}

async function remotePeer() {
  try {
    return (await node.libp2p.peerStore.all()).find((p) => p.id.toString() === state.remotePeerId) ?? null;
  } catch {
    return null;
  }
}

// remoteShardInfo is what js-waku's peer store holds as the remote's
// cluster and shards (metadata "shardInfo", written by the metadata
// service): what its peer manager and dialer go by.
async function remoteShardInfo() {
  const bytes = (await remotePeer())?.metadata.get('shardInfo');
  if (!bytes) return null;
  try {
    return utils.decodeRelayShard(bytes);
  } catch (err) {
    return { error: String(err), bytesB64: b64(bytes) };
  }
}

async function describe(req = {}) {
  const conns = connectionsTo(state.remotePeerId).map((c) => ({
    status: c.status,
    direction: c.direction,
    remoteAddr: c.remoteAddr.toString(),
    multiplexer: c.multiplexer ?? null,
    encryption: c.encryption ?? null,
    streams: c.streams.map((s) => ({
      protocol: s.protocol ?? null,
      direction: s.direction,
      status: s.status,
      readStatus: s.readStatus,
      writeStatus: s.writeStatus,
    })),
  }));
  const peer = await remotePeer();
  const av = peer?.metadata.get('AgentVersion');
  const handshake = node.libp2p.services.metadata?.handshakesConfirmed?.get(state.remotePeerId) ?? null;
  const out = {
    peerId: node.libp2p.peerId.toString(),
    remotePeerId: state.remotePeerId,
    mode: 'light',
    sdk: state.sdkVersion,
    connections: conns,
    remoteProtocols: peer?.protocols ?? [],
    remoteAgent: av ? Buffer.from(av).toString('utf8') : null,
    remoteShardInfo: await remoteShardInfo(),
    // The metadata service's own record of the handshake with the remote
    // (it answers later handshake checks from it).
    metadataHandshake: handshake ? { clusterId: handshake.clusterId ?? null, shards: handshake.shards ?? [] } : null,
    metadataReads: state.metadataReads,
  };
  if (req.pubsubTopic !== undefined) {
    if (typeof req.pubsubTopic !== 'string') throw new RequestError('pubsubTopic: expected a string');
    // Whether js-waku's peer manager takes the remote for this pubsub
    // topic (its shard info names our cluster and the topic's shard).
    out.remoteOnTopic = await node.connectionManager.isPeerOnTopic(peer?.id ?? null, req.pubsubTopic).catch(() => false);
  }
  return out;
}

// routingFor returns js-waku's routing info for a request's content topic:
// req.pubsubTopic when given (static, on our cluster), else autosharding
// over the network's shards.
function routingFor(req) {
  if (typeof req.contentTopic !== 'string' || req.contentTopic === '') {
    throw new RequestError('contentTopic: expected a non-empty string');
  }
  try {
    if (req.pubsubTopic !== undefined) {
      if (typeof req.pubsubTopic !== 'string') throw new RequestError('pubsubTopic: expected a string');
      return utils.StaticShardingRoutingInfo.fromPubsubTopic(req.pubsubTopic, { clusterId: state.clusterId });
    }
    return utils.createRoutingInfo(state.networkConfig, { contentTopic: req.contentTopic });
  } catch (err) {
    if (err instanceof RequestError) throw err;
    throw new RequestError(`routing of ${req.contentTopic}: ${err.message}`);
  }
}

// messageFields describes a message as js-waku decoded it.
function messageFields(pubsubTopic, msg) {
  const p = msg.proto ?? {};
  const ev = {
    pubsubTopic,
    contentTopic: msg.contentTopic,
    payloadB64: b64(msg.payload ?? new Uint8Array()),
    timestampNs: p.timestamp !== undefined && p.timestamp !== null ? p.timestamp.toString() : null,
    version: p.version ?? null,
    ephemeral: Boolean(p.ephemeral),
  };
  if (p.meta) ev.metaB64 = b64(p.meta);
  if (p.rateLimitProof) ev.rateLimitProofB64 = b64(protoMessage.RateLimitProof.encode(p.rateLimitProof));
  return ev;
}

const protocolFailure = (f) => ({ error: String(f.error), peerId: f.peerId?.toString() ?? null });

// ---------------------------------------------------------------- stages ----

// The service peer stages: js-waku's waitForPeers([protocol]), i.e. a
// connected peer whose identify listed the protocol's codec and a metadata
// handshake with it (the remote's query of us, or ours of it).
const PEER_STAGES = {
  'lightpush-peer': Protocols.LightPush,
  'store-peer': Protocols.Store,
  'filter-peer': Protocols.Filter,
};
const STAGES = ['connection', 'identify', 'shard-info', ...Object.keys(PEER_STAGES)];

async function reached(stage) {
  switch (stage) {
    case 'connection':
      return connectionsTo(state.remotePeerId).some((c) => c.status === 'open');
    case 'identify':
      return state.identified;
    case 'shard-info':
      // js-waku stored shard info for the remote: normally from the
      // remote's metadata request (js-waku never queries by itself).
      return (await remoteShardInfo()) !== null;
    default: {
      const codec = { 'lightpush-peer': sdk.waku.LightPushCodec, 'store-peer': sdk.waku.StoreCodec, 'filter-peer': sdk.waku.FilterCodecs.SUBSCRIBE }[stage];
      return ((await remotePeer())?.protocols ?? []).includes(codec);
    }
  }
}

async function awaitStage(stage, timeoutMs) {
  const t0 = Date.now();
  if (Object.hasOwn(PEER_STAGES, stage)) {
    try {
      await node.waitForPeers([PEER_STAGES[stage]], Math.max(1, timeoutMs));
    } catch (err) {
      throw new Error(`${stage} not reached within ${timeoutMs} ms (waitForPeers: ${err?.message ?? String(err)})`);
    }
  }
  return waitUntil(stage, () => reached(stage), Math.max(0, timeoutMs - (Date.now() - t0)));
}

// stagesUpTo lists the stages start waits for, in order.
function stagesUpTo(stage) {
  if (stage === 'connection') return ['connection'];
  if (stage === 'identify') return ['connection', 'identify'];
  return ['connection', 'identify', stage];
}

// -------------------------------------------------------------- handlers ----

function ping() {
  return { ok: true };
}

async function start(req) {
  if (node) throw new RequestError('already started: stop first (start may follow stop, with a new node)');
  if (typeof req.peer !== 'string') throw new RequestError('peer: expected the multiaddr of the rlnd node');
  if ((req.mode ?? 'light') !== 'light') throw new RequestError('mode: this harness runs light nodes only ("light")');
  if (!Number.isInteger(req.clusterId) || req.clusterId < 0 || req.clusterId > 65535) {
    throw new RequestError('clusterId: expected an integer 0..65535');
  }
  const numShards = req.numShardsInNetwork ?? 8;
  if (!Number.isInteger(numShards) || numShards < 1 || numShards > 1024) {
    throw new RequestError('numShardsInNetwork: expected an integer 1..1024');
  }
  const dial = req.dial ?? 'libp2p';
  if (dial !== 'waku' && dial !== 'libp2p') throw new RequestError('dial: expected "waku" or "libp2p"');
  const waitFor = req.waitFor ?? 'identify';
  if (!STAGES.includes(waitFor)) throw new RequestError(`waitFor: expected one of ${STAGES.join(', ')}`);
  const timeoutMs = timeoutOf(req);
  const remotePeerId = peerIdOf(req.peer);
  const networkConfig = { clusterId: req.clusterId, numShardsInCluster: numShards };

  // js-waku's own options only: no libp2p component is replaced.
  const options = {
    networkConfig,
    defaultBootstrap: false,
    // js-waku dials only wss:// unless told otherwise (or NODE_ENV=test).
    libp2p: { filterMultiaddrs: false, hideWebSocketInfo: true },
  };
  state = {
    clusterId: req.clusterId,
    numShards,
    networkConfig,
    remotePeerId,
    identified: false,
    metadataReads: [],
    sdkVersion: SDK_VERSION,
  };
  node = await createLightNode(options);
  node.libp2p.addEventListener('peer:connect', (evt) => emit({ event: 'peer:connect', peerId: evt.detail.toString() }));
  node.libp2p.addEventListener('peer:disconnect', (evt) => emit({ event: 'peer:disconnect', peerId: evt.detail.toString() }));
  node.libp2p.addEventListener('peer:identify', (evt) => {
    if (evt.detail.peerId.toString() === remotePeerId) state.identified = true;
  });

  const waited = [];
  const t0 = Date.now();
  let dialError = null;
  try {
    if (dial === 'waku') {
      // WakuNode.dial: dialProtocol with the codecs of store, filter and
      // light push.
      await node.dial(req.peer);
    } else {
      await node.libp2p.dial(multiaddr(req.peer));
    }
  } catch (err) {
    dialError = err.message;
  }
  for (const stage of stagesUpTo(waitFor)) {
    try {
      await awaitStage(stage, Math.max(0, timeoutMs - (Date.now() - t0)));
    } catch (err) {
      return { error: `${err.message}${dialError ? ` (dial error: ${dialError})` : ''}`, waited, ...(await describe()) };
    }
    waited.push({ stage, ms: Date.now() - t0 });
  }
  const out = { ok: true, waited, dialError, ...(await describe()) };
  if (req.queryMetadata) out.metadataQuery = await queryMetadata();
  return out;
}

async function wait(req) {
  requireNode();
  if (!STAGES.includes(req.stage)) throw new RequestError(`stage: expected one of ${STAGES.join(', ')}`);
  const timeoutMs = timeoutOf(req);
  const t0 = Date.now();
  try {
    await awaitStage(req.stage, timeoutMs);
  } catch (err) {
    return { error: err.message, ...(await describe()) };
  }
  return { ok: true, ms: Date.now() - t0 };
}

// queryMetadata asks the remote for its metadata, as js-waku's handshake
// does when it has none recorded.
async function queryMetadata() {
  const conn = connectionsTo(state.remotePeerId)[0];
  if (!conn) return { shardInfo: null, error: 'not connected' };
  try {
    const res = await node.libp2p.services.metadata.query(conn.remotePeer);
    return { shardInfo: res.shardInfo ?? null, error: res.error ?? null };
  } catch (err) {
    return { shardInfo: null, error: err.message };
  }
}

async function info(req) {
  requireNode();
  return { ok: true, ...(await describe(req)) };
}

async function metadata() {
  requireNode();
  return { ok: true, ...(await queryMetadata()) };
}

// withFilterTap runs fn and adds the filter-subscribe requests js-waku
// wrote and the responses it read meanwhile.
async function withFilterTap(fn) {
  const tap = { requests: [], responses: [] };
  filterTap = tap;
  try {
    return { ...(await fn()), requestsB64: tap.requests, responsesB64: tap.responses };
  } finally {
    if (filterTap === tap) filterTap = null;
  }
}

// subscribe makes a filter subscription (the sdk's filter.subscribe, one
// decoder); its messages come as "message" events.
async function subscribe(req) {
  requireNode();
  const routing = routingFor(req);
  if (subscriptions.has(req.contentTopic)) return { ok: true, already: true, pubsubTopic: subscriptions.get(req.contentTopic).pubsubTopic };
  const pubsubTopic = routing.pubsubTopic;
  const decoder = createDecoder(req.contentTopic, routing);
  return withFilterTap(async () => {
    let ok;
    try {
      ok = await node.filter.subscribe([decoder], (msg) => emit({ event: 'message', ...messageFields(pubsubTopic, msg) }));
    } catch (err) {
      return { ok: false, pubsubTopic, subscribeError: err.message };
    }
    // The sdk keeps the decoder either way (it subscribes again with each
    // new filter peer); unsubscribe needs this very decoder object.
    subscriptions.set(req.contentTopic, { decoder, pubsubTopic });
    return { ok, pubsubTopic };
  });
}

// unsubscribe ends a subscription made by subscribe: js-waku writes an
// UNSUBSCRIBE for the content topic to its filter peers and reads no answer
// (the sdk then drops its subscription object once no content topic is
// left, without a further request).
async function unsubscribe(req) {
  requireNode();
  const sub = subscriptions.get(req.contentTopic);
  if (!sub) throw new RequestError(`not subscribed to ${JSON.stringify(req.contentTopic)}`);
  subscriptions.delete(req.contentTopic);
  return withFilterTap(async () => ({ ok: await node.filter.unsubscribe([sub.decoder]), pubsubTopic: sub.pubsubTopic }));
}

// filterPing sends js-waku's SUBSCRIBER_PING to the remote (FilterCore's
// ping, which the sdk's keep-alive sends every minute).
async function filterPing() {
  requireNode();
  const conn = connectionsTo(state.remotePeerId)[0];
  if (!conn) throw new RequestError('filterPing: not connected to the remote');
  return withFilterTap(async () => {
    const res = await node.filter.protocol.ping(conn.remotePeer);
    return {
      ok: Boolean(res.success),
      successes: res.success ? [res.success.toString()] : [],
      failures: res.failure ? [protocolFailure(res.failure)] : [],
    };
  });
}

// store queries with js-waku's store client: one decoder per content topic
// on one pubsub topic. With messageHashesHex it is the sdk's hash lookup
// (options.messageHashes): the decoders only decode the answer, and the
// sdk sends the pubsub topic with the hashes. js-waku pages by itself until
// a page comes back empty.
async function store(req) {
  requireNode();
  const { contentTopics } = req;
  if (!Array.isArray(contentTopics) || contentTopics.length === 0 || !contentTopics.every((ct) => typeof ct === 'string' && ct !== '')) {
    throw new RequestError('contentTopics: expected a non-empty array of non-empty strings');
  }
  const routing = routingFor({ contentTopic: contentTopics[0], pubsubTopic: req.pubsubTopic });
  const pubsubTopic = routing.pubsubTopic;
  const decoders = contentTopics.map((ct) => createDecoder(ct, routing));
  const options = {};
  if (req.pageSize !== undefined) {
    if (!Number.isInteger(req.pageSize) || req.pageSize <= 0) throw new RequestError('pageSize: expected a positive integer');
    options.paginationLimit = req.pageSize;
  }
  if (req.forward !== undefined) {
    if (typeof req.forward !== 'boolean') throw new RequestError('forward: expected a boolean');
    options.paginationForward = req.forward;
  }
  for (const [field, option] of [['timeStartMs', 'timeStart'], ['timeEndMs', 'timeEnd']]) {
    if (req[field] === undefined) continue;
    if (!Number.isSafeInteger(req[field]) || req[field] <= 0) throw new RequestError(`${field}: expected a positive integer`);
    options[option] = new Date(req[field]);
  }
  if (req.messageHashesHex !== undefined) {
    if (!Array.isArray(req.messageHashesHex) || req.messageHashesHex.length === 0) {
      throw new RequestError('messageHashesHex: expected a non-empty array');
    }
    options.messageHashes = req.messageHashesHex.map((h, i) => fromHex(h, `messageHashesHex[${i}]`));
  }
  const api = req.api ?? 'generator';
  if (api !== 'generator' && api !== 'ordered-callback') throw new RequestError('api: expected "generator" or "ordered-callback"');
  const timeoutMs = timeoutOf(req);

  const messages = [];
  const pages = [];
  const describeStored = (msg) => ({ ...messageFields(msg.pubsubTopic, msg), hashHex: hex(node.store.createCursor(msg)) });
  const tap = { requests: [], responses: [] };
  storeTap = tap;
  const t0 = Date.now();
  let queryError = null;
  let timedOut = false;
  try {
    const querying = (async () => {
      if (api === 'generator') {
        for await (const page of node.store.queryGenerator(decoders, options)) {
          const decoded = await Promise.all(page);
          pages.push(decoded.length);
          for (const msg of decoded) messages.push(msg ? describeStored(msg) : null);
        }
      } else {
        await node.store.queryWithOrderedCallback(decoders, (msg) => {
          messages.push(describeStored(msg));
        }, options);
      }
    })();
    timedOut = Boolean((await withTimeout(querying, timeoutMs)).timedOut);
  } catch (err) {
    queryError = err instanceof Error ? err.message : String(err);
  } finally {
    if (storeTap === tap) storeTap = null;
  }
  return {
    ok: queryError === null && !timedOut,
    pubsubTopic,
    api,
    ms: Date.now() - t0,
    timedOut,
    queryError,
    messages,
    pages,
    requestsB64: tap.requests,
    responsesB64: tap.responses,
  };
}

// prepareMessage builds the message and encoder of a lightpush request and
// the wire bytes js-waku makes of them.
async function prepareMessage(req) {
  const routing = routingFor(req);
  const payload = fromB64(req.payloadB64 ?? '', 'payloadB64');
  const message = { payload };
  if (req.timestampMs !== undefined) {
    if (!Number.isSafeInteger(req.timestampMs) || req.timestampMs < 0) throw new RequestError('timestampMs: expected a non-negative integer');
    message.timestamp = new Date(req.timestampMs);
  } else {
    // js-waku stamps new Date() itself; fixed here so that the reported
    // wire bytes are the ones sent.
    message.timestamp = new Date();
  }
  if (req.rateLimitProofB64 !== undefined) {
    const raw = fromB64(req.rateLimitProofB64, 'rateLimitProofB64');
    let rlp;
    try {
      rlp = protoMessage.RateLimitProof.decode(raw);
    } catch (err) {
      throw new RequestError(`rateLimitProofB64: not a RateLimitProof: ${err.message}`);
    }
    if (hex(protoMessage.RateLimitProof.encode(rlp)) !== hex(raw)) {
      throw new RequestError('rateLimitProofB64: js-waku re-encodes it to different bytes (fields out of order, empty fields or unknown fields)');
    }
    message.rateLimitProof = rlp;
  }
  const encoder = createEncoder({ contentTopic: req.contentTopic, routingInfo: routing, ephemeral: Boolean(req.ephemeral) });
  const wire = await encoder.toWire(message);
  const out = {
    pubsubTopic: routing.pubsubTopic,
    timestampMs: message.timestamp.valueOf(),
    wireB64: b64(wire),
    msgIdHex: createHash('sha256').update(wire).digest('hex'),
  };
  return { message, encoder, out };
}

// lightpush pushes with js-waku's light push client: the sdk's
// lightPush.send (peer choice by its peer manager; v3 when the peer's
// identify lists /vac/waku/lightpush/3.0.0, v2 with useLegacy), or with
// "direct" LightPushCore.send to the remote.
async function lightpush(req) {
  requireNode();
  const direct = req.direct ?? false;
  const useLegacy = req.useLegacy ?? false;
  if (typeof direct !== 'boolean' || typeof useLegacy !== 'boolean') throw new RequestError('direct, useLegacy: expected booleans');
  const sendOptions = { useLegacy };
  if (req.autoRetry !== undefined) {
    if (typeof req.autoRetry !== 'boolean') throw new RequestError('autoRetry: expected a boolean');
    sendOptions.autoRetry = req.autoRetry;
  }
  const timeoutMs = timeoutOf(req);
  const { message, encoder, out } = await prepareMessage(req);
  let peerId = null;
  if (direct) {
    peerId = (await remotePeer())?.id;
    if (!peerId) throw new RequestError('direct: the remote peer is not in the peer store');
  }
  const tap = { requests: [], responses: [] };
  lightPushTap = tap;
  const t0 = Date.now();
  let res = null;
  let sendError = null;
  try {
    const sending = direct
      ? node.lightPush.protocol.send(encoder, message, peerId, useLegacy).then((r) => ({
          successes: r.success ? [r.success] : [],
          failures: r.failure ? [r.failure] : [],
        }))
      : node.lightPush.send(encoder, message, sendOptions);
    const raced = await withTimeout(sending, timeoutMs);
    res = raced.timedOut ? null : raced.value;
  } catch (err) {
    sendError = err instanceof Error ? err.message : String(err);
  } finally {
    if (lightPushTap === tap) lightPushTap = null;
  }
  const first = tap.responses.find((r) => !r.decodeError) ?? null;
  const result = {
    ...out,
    direct,
    ms: Date.now() - t0,
    timedOut: res === null && sendError === null,
    sendError,
    recipients: res ? res.successes.map(String) : [],
    failures: res ? res.failures.map(protocolFailure) : [],
    requests: tap.requests,
    responses: tap.responses,
    protocol: tap.requests[0]?.protocol ?? null,
    statusCode: first?.statusCode ?? null,
    statusDesc: first?.statusDesc ?? null,
    relayPeerCount: first?.relayPeerCount ?? null,
    isSuccess: first?.isSuccess ?? null,
    info: first?.info ?? null,
    connected: connectionsTo(state.remotePeerId).some((c) => c.status === 'open'),
  };
  result.ok = result.recipients.length > 0 && result.failures.length === 0;
  return result;
}

// stop stops the node (filter subscriptions end with it); start may then
// create a new one, with a new peer id.
async function stop() {
  if (!node) return { ok: true };
  subscriptions.clear();
  const n = node;
  node = null;
  await n.stop();
  return { ok: true };
}

function version() {
  return { ok: true, sdk: SDK_VERSION, node: process.version };
}

const HANDLERS = { ping, version, start, wait, info, metadata, subscribe, unsubscribe, filterPing, store, lightpush, stop };

// ------------------------------------------------------------------ loop ----

serveLines(HANDLERS, stop);
