#!/usr/bin/env node
// rlnd interop harness for js-waku: a long-lived process that runs one js-waku
// node (@waku/sdk 0.0.27 with @waku/relay 0.0.14, its default libp2p stack:
// websocket, noise, mplex) and is driven by newline-delimited JSON on stdin.
// Each request gets one JSON line on stdout, in order; asynchronous events are
// lines with an "event" field and may come between responses. The protocol is
// described in README.md next to this file.

import { RequestError, b64, hex, bytesOf, fromB64, waitUntil, peerIdOf, emit, serveLines } from './lib/harness.mjs';
import { createHash } from 'node:crypto';

// stdout carries the protocol only: send any library logging to stderr.
for (const name of ['log', 'info', 'debug', 'warn']) {
  console[name] = (...args) => console.error(...args);
}

const sdk = await import('@waku/sdk');
const { createRelayNode } = await import('@waku/sdk/relay');
const {
  proto_message: protoMessage,
  proto_lightpush: protoLightPush,
  proto_store: protoStore,
  proto_filter_v2: protoFilter,
} = await import('@waku/proto');
const { multiaddr } = await import('@multiformats/multiaddr');

const { createLightNode, createEncoder, createDecoder, utils, waitForRemotePeer, Protocols } = sdk;

const RELAY_CODEC = '/vac/waku/relay/2.0.0';
const DEFAULT_TIMEOUT_MS = 20000;

let node = null; // the js-waku node
let state = null; // { mode, clusterId, pubsubTopics, numShards, remote, remotePeerId }
const subscriptions = new Map(); // contentTopic -> { pubsubTopic, unsubscribe }
const filterSubscriptions = new Map(); // pubsubTopic -> js-waku's filter subscription

// While a lightpush request runs, lightPushTap records the PushRpcs js-waku
// encodes (its requests) and decodes (the service's responses). js-waku
// reports neither: it keeps the request id to itself, and of a response only
// "Remote peer rejected" (is_success false) or an RLN error name (info
// containing "could not generate rln-v2 proof") reach the caller. The hooks
// wrap @waku/proto's codec functions, which @waku/core looks up on every
// call; they only observe. Requests run one at a time, so one tap suffices.
let lightPushTap = null; // { requests: [], responses: [] }
{
  const { PushRpc } = protoLightPush;
  const encode = PushRpc.encode;
  const decode = PushRpc.decode;
  PushRpc.encode = (obj, ...rest) => {
    const bytes = encode(obj, ...rest);
    if (lightPushTap && obj?.request) {
      lightPushTap.requests.push({
        requestId: obj.requestId ?? '',
        pubsubTopic: obj.request.pubsubTopic ?? '',
        rpcB64: b64(bytes),
      });
    }
    return bytes;
  };
  PushRpc.decode = (buf, ...rest) => {
    const tap = lightPushTap;
    let rpc;
    try {
      rpc = decode(buf, ...rest);
    } catch (err) {
      tap?.responses.push({ decodeError: err.message, rpcB64: b64(bytesOf(buf)) });
      throw err;
    }
    if (tap) {
      tap.responses.push({
        requestId: rpc.requestId,
        hasResponse: rpc.response !== undefined,
        isSuccess: rpc.response?.isSuccess ?? null,
        info: rpc.response?.info ?? null,
        rpcB64: b64(bytesOf(buf)),
      });
    }
    return rpc;
  };
}

// The store and filter exchanges, observed the same way: storeTap and
// filterTap record the bytes of each request js-waku encodes and each
// response it decodes while one op runs (ops run one at a time), and every
// filter push js-waku decodes becomes a "filter-push" event, before js-waku
// deduplicates and dispatches it.
let storeTap = null; // { requests: [], responses: [] }
let filterTap = null; // { requests: [], responses: [] }
observe(protoStore.StoreQueryRequest, 'encode', (_obj, bytes) => storeTap?.requests.push(b64(bytes)));
observe(protoStore.StoreQueryResponse, 'decode', (buf) => storeTap?.responses.push(b64(bytesOf(buf))));
observe(protoFilter.FilterSubscribeRequest, 'encode', (_obj, bytes) => filterTap?.requests.push(b64(bytes)));
observe(protoFilter.FilterSubscribeResponse, 'decode', (buf) => filterTap?.responses.push(b64(bytesOf(buf))));
observe(protoFilter.MessagePush, 'decode', (buf) => emit({ event: 'filter-push', pushB64: b64(bytesOf(buf)) }));

// observe wraps one @waku/proto codec function (@waku/core looks them up on
// each call) so that see(argument, result) runs after each call that
// succeeded. It only watches.
function observe(codec, name, see) {
  const fn = codec[name];
  codec[name] = (arg, ...rest) => {
    const out = fn(arg, ...rest);
    see(arg, out);
    return out;
  };
}

// ---------------------------------------------------------------- helpers ----

function requireNode() {
  if (!node) throw new RequestError('not started: send {"op":"start",...} first');
}

function connectionsTo(peerIdStr) {
  return node.libp2p.getConnections().filter((c) => c.remotePeer.toString() === peerIdStr);
}

async function remoteShardInfo(peerIdStr) {
  try {
    const peer = (await node.libp2p.peerStore.all()).find((p) => p.id.toString() === peerIdStr);
    const bytes = peer?.metadata.get('shardInfo');
    return bytes ? utils.decodeRelayShard(bytes) : null;
  } catch (err) {
    return { error: String(err) };
  }
}

async function describe() {
  const peerIdStr = state.remotePeerId;
  const conns = connectionsTo(peerIdStr).map((c) => ({
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
  let remoteProtocols = [];
  let remoteAgent = null;
  try {
    const peer = (await node.libp2p.peerStore.all()).find((p) => p.id.toString() === peerIdStr);
    if (peer) {
      remoteProtocols = peer.protocols;
      const av = peer.metadata.get('AgentVersion');
      remoteAgent = av ? Buffer.from(av).toString('utf8') : null;
    }
  } catch {
    // not in the peer store
  }
  const out = {
    peerId: node.libp2p.peerId.toString(),
    remotePeerId: peerIdStr,
    mode: state.mode,
    pubsubTopics: state.pubsubTopics,
    connections: conns,
    remoteProtocols,
    remoteAgent,
    // What js-waku's peer store holds as the remote's shards: written when
    // the remote queried our metadata (and its request decoded) or when we
    // queried it.
    remoteShardInfo: await remoteShardInfo(peerIdStr),
  };
  if (node.lightPush) {
    // The peers js-waku's light push sends to (it picks them from the peer
    // store when it has none, and drops one that fails).
    out.lightPushPeers = node.lightPush.connectedPeers.map((p) => p.id.toString());
  }
  if (node.relay) {
    const gs = node.relay.gossipSub;
    out.gossipsub = {
      peers: gs.getPeers().map(String),
      subscribers: Object.fromEntries(state.pubsubTopics.map((t) => [t, gs.getSubscribers(t).map(String)])),
      mesh: Object.fromEntries(state.pubsubTopics.map((t) => [t, node.relay.getMeshPeers(t)])),
    };
  }
  return out;
}

// pubsubTopicFor returns the pubsub topic a content topic is sent on.
function pubsubTopicFor(req) {
  if (req.pubsubTopic !== undefined) {
    if (typeof req.pubsubTopic !== 'string') throw new RequestError('pubsubTopic: expected a string');
    return req.pubsubTopic;
  }
  try {
    const shard = utils.contentTopicToShardIndex(req.contentTopic, state.numShards);
    return `/waku/2/rs/${state.clusterId}/${shard}`;
  } catch (err) {
    throw new RequestError(`contentTopic: ${err.message}`);
  }
}

function checkContentTopic(req) {
  if (typeof req.contentTopic !== 'string' || req.contentTopic === '') {
    throw new RequestError('contentTopic: expected a non-empty string');
  }
}

// messageFields describes a message as js-waku decoded it.
function messageFields(pubsubTopic, msg) {
  const p = msg.proto ?? {};
  const ev = {
    pubsubTopic,
    contentTopic: msg.contentTopic,
    payloadB64: b64(msg.payload ?? new Uint8Array()),
    timestampNs: p.timestamp !== undefined ? p.timestamp.toString() : null,
    version: p.version ?? null,
    ephemeral: Boolean(p.ephemeral),
  };
  if (p.meta) ev.metaB64 = b64(p.meta);
  if (p.rateLimitProof) ev.rateLimitProofB64 = b64(protoMessage.RateLimitProof.encode(p.rateLimitProof));
  return ev;
}

function messageEvent(pubsubTopic, msg) {
  return { event: 'message', ...messageFields(pubsubTopic, msg) };
}

// --------------------------------------------------------------- handlers ----

function ping() {
  return { ok: true };
}

function parseNetwork(req) {
  if (!Number.isInteger(req.clusterId) || req.clusterId < 0 || req.clusterId > 65535) {
    throw new RequestError('clusterId: expected an integer 0..65535');
  }
  const numShards = req.numShardsInNetwork ?? 8;
  if (!Number.isInteger(numShards) || numShards < 1 || numShards > 1024) {
    throw new RequestError('numShardsInNetwork: expected an integer 1..1024');
  }
  let shards;
  if (req.shards !== undefined) {
    if (!Array.isArray(req.shards) || req.shards.length === 0 || !req.shards.every((s) => Number.isInteger(s) && s >= 0 && s < 1024)) {
      throw new RequestError('shards: expected a non-empty array of integers 0..1023');
    }
    shards = [...new Set(req.shards)];
  } else if (req.contentTopics !== undefined) {
    if (!Array.isArray(req.contentTopics) || req.contentTopics.length === 0) {
      throw new RequestError('contentTopics: expected a non-empty array');
    }
    // Autosharding with numShardsInNetwork shards: js-waku 0.0.27 only
    // autoshards over 8 shards, so the shards are derived here and the node
    // is configured with them (static sharding, the same pubsub topics).
    try {
      shards = [...new Set(req.contentTopics.map((ct) => utils.contentTopicToShardIndex(ct, numShards)))];
    } catch (err) {
      throw new RequestError(`contentTopics: ${err.message}`);
    }
  } else {
    throw new RequestError('one of "shards" or "contentTopics" is required');
  }
  return { clusterId: req.clusterId, shards, numShards };
}

async function start(req) {
  if (node) throw new RequestError('already started (one node per process)');
  if (typeof req.peer !== 'string') throw new RequestError('peer: expected the multiaddr of the rlnd node');
  const mode = req.mode ?? 'relay';
  if (mode !== 'relay' && mode !== 'light') throw new RequestError('mode: expected "relay" or "light"');
  const dial = req.dial ?? (mode === 'relay' ? 'waku' : 'libp2p');
  if (dial !== 'waku' && dial !== 'libp2p') throw new RequestError('dial: expected "waku" or "libp2p"');
  const waitFor = req.waitFor ?? (mode === 'relay' ? 'mesh' : 'identify');
  if (!stagesFor(mode).includes(waitFor)) throw new RequestError(`waitFor: expected one of ${stagesFor(mode).join(', ')} in ${mode} mode`);
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const net = parseNetwork(req);
  const remotePeerId = peerIdOf(req.peer);

  const options = {
    networkConfig: { clusterId: net.clusterId, shards: net.shards },
    defaultBootstrap: false,
    hideWebSocketInfo: true,
    // js-waku dials only wss:// unless told otherwise (or NODE_ENV=test);
    // this is js-waku's own switch, not a libp2p override.
    libp2p: { filterMultiaddrs: false },
  };
  node = mode === 'relay' ? await createRelayNode(options) : await createLightNode(options);
  state = {
    mode,
    clusterId: net.clusterId,
    numShards: net.numShards,
    pubsubTopics: node.pubsubTopics,
    remote: req.peer,
    remotePeerId,
    identified: false,
  };
  node.libp2p.addEventListener('peer:connect', (evt) => emit({ event: 'peer:connect', peerId: evt.detail.toString() }));
  node.libp2p.addEventListener('peer:disconnect', (evt) => emit({ event: 'peer:disconnect', peerId: evt.detail.toString() }));
  node.libp2p.addEventListener('peer:identify', (evt) => {
    if (evt.detail.peerId.toString() === remotePeerId) state.identified = true;
  });
  await node.start();
  if (node.relay) {
    // Every relay message js-waku accepts, before content-topic filtering.
    node.relay.gossipSub.addEventListener('gossipsub:message', (evt) => {
      const { msg, msgId, propagationSource } = evt.detail;
      emit({
        event: 'gossip',
        pubsubTopic: msg.topic,
        dataB64: b64(msg.data),
        msgIdHex: typeof msgId === 'string' ? msgId : hex(msgId),
        from: propagationSource.toString(),
      });
    });
  }

  const waited = [];
  const t0 = Date.now();
  const mark = (stage, detail) => waited.push({ stage, ms: Date.now() - t0, ...(detail ? { detail } : {}) });
  let dialError = null;
  try {
    if (dial === 'waku') {
      // WakuNode.dial: libp2p.dialProtocol(peer, codecs of the mounted
      // protocols); for a relay node that opens a /vac/waku/relay/2.0.0
      // stream that js-waku then leaves unused.
      await node.dial(req.peer);
    } else {
      await node.libp2p.dial(multiaddr(req.peer));
    }
  } catch (err) {
    dialError = err.message;
  }
  for (const stage of stagesUpTo(mode, waitFor)) {
    try {
      await awaitStage(stage, Math.max(0, timeoutMs - (Date.now() - t0)));
    } catch (err) {
      return { error: `${err.message}${dialError ? ` (dial error: ${dialError})` : ''}`, waited, ...(await describe()) };
    }
    mark(stage);
  }
  const out = { ok: true, waited, dialError, ...(await describe()) };
  if (req.queryMetadata) out.metadataQuery = await queryMetadata();
  return out;
}

// reached tells whether a start stage holds now.
async function reached(stage) {
  const remote = state.remotePeerId;
  switch (stage) {
    case 'connection':
      return connectionsTo(remote).some((c) => c.status === 'open');
    case 'identify':
      return state.identified;
    case 'relay-peer':
      return node.relay.gossipSub.getPeers().some((p) => p.toString() === remote);
    case 'subscribed':
      return state.pubsubTopics.every((t) => node.relay.gossipSub.getSubscribers(t).some((p) => p.toString() === remote));
    case 'mesh':
      return state.pubsubTopics.every((t) => node.relay.getMeshPeers(t).includes(remote));
    case 'lightpush-peer':
    case 'store-peer':
    case 'filter-peer':
      // Connected, and identify listed js-waku's codec of the protocol.
      return (await node[PEER_STAGES[stage].client].protocol.connectedPeers()).some((p) => p.id.toString() === remote);
    default:
      return false;
  }
}

// The light mode stages that wait for a service peer: js-waku's client of
// the protocol and its name for waitForRemotePeer.
const PEER_STAGES = {
  'lightpush-peer': { client: 'lightPush', protocol: Protocols.LightPush },
  'store-peer': { client: 'store', protocol: Protocols.Store },
  'filter-peer': { client: 'filter', protocol: Protocols.Filter },
};

// awaitStage waits until a stage holds. lightpush-peer, store-peer and
// filter-peer are js-waku's own waitForRemotePeer(node, [protocol]): a
// connected peer whose identify listed the protocol's codec, and a metadata
// handshake with it (the peer's query of us, or ours of it), then that this
// peer is the remote.
async function awaitStage(stage, timeoutMs) {
  if (Object.hasOwn(PEER_STAGES, stage)) {
    const t0 = Date.now();
    try {
      await waitForRemotePeer(node, [PEER_STAGES[stage].protocol], Math.max(1, timeoutMs));
    } catch (err) {
      throw new Error(`${stage} not reached within ${timeoutMs} ms (waitForRemotePeer: ${err?.message ?? String(err)})`);
    }
    return waitUntil(stage, () => reached(stage), Math.max(0, timeoutMs - (Date.now() - t0)));
  }
  return waitUntil(stage, () => reached(stage), timeoutMs);
}

function stagesFor(mode) {
  return mode === 'relay' ? ['connection', 'identify', 'relay-peer', 'subscribed', 'mesh'] : ['connection', 'identify', ...Object.keys(PEER_STAGES)];
}

// stagesUpTo lists the stages start waits for, in order: those before
// stage, and stage; the service peer stages each come after identify.
function stagesUpTo(mode, stage) {
  if (Object.hasOwn(PEER_STAGES, stage)) return ['connection', 'identify', stage];
  const stages = stagesFor(mode);
  return stages.slice(0, stages.indexOf(stage) + 1);
}

// wait waits for one stage (see start) after start, e.g. until the remote
// has subscribed to all our pubsub topics.
async function wait(req) {
  requireNode();
  if (!stagesFor(state.mode).includes(req.stage)) {
    throw new RequestError(`stage: expected one of ${stagesFor(state.mode).join(', ')} in ${state.mode} mode`);
  }
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const t0 = Date.now();
  try {
    await awaitStage(req.stage, timeoutMs);
  } catch (err) {
    return { error: err.message, ...(await describe()) };
  }
  return { ok: true, ms: Date.now() - t0 };
}

// queryMetadata asks the remote for its metadata the way js-waku does before
// it uses a peer for store, filter or light push.
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

async function info() {
  requireNode();
  return { ok: true, ...(await describe()) };
}

async function metadata() {
  requireNode();
  return { ok: true, ...(await queryMetadata()) };
}

const protocolResult = (res) => ({
  successes: res.successes.map(String),
  failures: res.failures.map((f) => ({ error: String(f.error), peerId: f.peerId?.toString() ?? null })),
});

// withFilterTap runs fn and adds the filter-subscribe requests js-waku wrote
// and the responses it read meanwhile.
async function withFilterTap(fn) {
  const tap = { requests: [], responses: [] };
  filterTap = tap;
  try {
    return { ...(await fn()), requestsB64: tap.requests, responsesB64: tap.responses };
  } finally {
    if (filterTap === tap) filterTap = null;
  }
}

async function subscribe(req) {
  requireNode();
  checkContentTopic(req);
  if (subscriptions.has(req.contentTopic)) return { ok: true, already: true };
  const pubsubTopic = pubsubTopicFor(req);
  const decoder = createDecoder(req.contentTopic, pubsubTopic);
  if (node.relay) {
    const unsubscribe = node.relay.subscribe([decoder], (msg) => emit(messageEvent(pubsubTopic, msg)));
    subscriptions.set(req.contentTopic, { pubsubTopic, unsubscribe });
    return { ok: true, pubsubTopic };
  }
  return withFilterTap(async () => {
    const res = await node.filter.subscribe([decoder], (msg) => emit(messageEvent(pubsubTopic, msg)));
    if (res.error) return { ok: false, pubsubTopic, subscribeError: String(res.error) };
    const subscription = res.subscription; // one per pubsub topic
    filterSubscriptions.set(pubsubTopic, subscription);
    subscriptions.set(req.contentTopic, { pubsubTopic, unsubscribe: () => subscription.unsubscribe([req.contentTopic]) });
    return { ok: true, pubsubTopic, ...protocolResult(res.results) };
  });
}

// unsubscribe ends a subscription made by subscribe (light: js-waku's
// filter unsubscribe, which writes its request and does not read the
// answer).
async function unsubscribe(req) {
  requireNode();
  checkContentTopic(req);
  const sub = subscriptions.get(req.contentTopic);
  if (!sub) throw new RequestError(`not subscribed to ${req.contentTopic}`);
  subscriptions.delete(req.contentTopic);
  if (node.relay) {
    await sub.unsubscribe();
    return { ok: true, pubsubTopic: sub.pubsubTopic };
  }
  return withFilterTap(async () => {
    const res = protocolResult(await sub.unsubscribe());
    return { ok: res.failures.length === 0 && res.successes.length > 0, pubsubTopic: sub.pubsubTopic, ...res };
  });
}

// filterPing pings the filter service peers of the subscription on a pubsub
// topic (light mode), as js-waku's keep-alive does; it stays usable after
// its content topics were unsubscribed.
async function filterPing(req) {
  requireNode();
  if (!node.filter) throw new RequestError('filterPing: needs a light node (start with mode "light")');
  const subscription = filterSubscriptions.get(req.pubsubTopic);
  if (!subscription) throw new RequestError(`pubsubTopic: no filter subscription on ${JSON.stringify(req.pubsubTopic)}`);
  return withFilterTap(async () => {
    const res = protocolResult(await subscription.ping());
    return { ok: res.failures.length === 0 && res.successes.length > 0, ...res };
  });
}

// store queries the remote's store with js-waku's store client (light
// mode): the sdk's queryGenerator (or queryWithOrderedCallback) with one
// decoder per content topic, all on one pubsub topic. js-waku pages by
// itself, with the hash of the last message of a page (forward) or the
// first (backward) as the next cursor, until a page comes back empty.
async function store(req) {
  requireNode();
  if (!node.store) throw new RequestError('store: needs a light node (start with mode "light")');
  const { contentTopics } = req;
  if (!Array.isArray(contentTopics) || contentTopics.length === 0 || !contentTopics.every((ct) => typeof ct === 'string' && ct !== '')) {
    throw new RequestError('contentTopics: expected a non-empty array of non-empty strings');
  }
  const pubsubTopic = pubsubTopicFor({ contentTopic: contentTopics[0], pubsubTopic: req.pubsubTopic });
  const decoders = contentTopics.map((ct) => createDecoder(ct, pubsubTopic));
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
  const api = req.api ?? 'generator';
  if (api !== 'generator' && api !== 'ordered-callback') throw new RequestError('api: expected "generator" or "ordered-callback"');
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new RequestError('timeoutMs: expected a positive integer');

  const messages = [];
  const pages = [];
  const describeStored = (msg) => ({ ...messageFields(msg.pubsubTopic, msg), hashHex: hex(node.store.createCursor(msg)) });
  const tap = { requests: [], responses: [] };
  storeTap = tap;
  const t0 = Date.now();
  let queryError = null;
  let timedOut = false;
  let timer;
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
      return true;
    })();
    querying.catch(() => {}); // a late failure after the timeout
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    timedOut = !(await Promise.race([querying, timeout]));
  } catch (err) {
    queryError = err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
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

// prepareMessage builds the message, encoder and reported wire bytes of a
// send or lightpush request.
async function prepareMessage(req) {
  checkContentTopic(req);
  const payload = fromB64(req.payloadB64 ?? '', 'payloadB64');
  const message = { payload };
  if (req.timestampMs !== undefined) {
    if (!Number.isSafeInteger(req.timestampMs) || req.timestampMs < 0) throw new RequestError('timestampMs: expected a non-negative integer');
    message.timestamp = new Date(req.timestampMs);
  } else {
    // js-waku stamps new Date() itself; it is fixed here so that the
    // reported wire bytes are the ones sent.
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
    // js-waku takes the proof as an object and re-encodes it; refuse bytes
    // it would not reproduce exactly.
    if (hex(protoMessage.RateLimitProof.encode(rlp)) !== hex(raw)) {
      throw new RequestError('rateLimitProofB64: js-waku re-encodes it to different bytes (fields out of order, empty fields or unknown fields)');
    }
    message.rateLimitProof = rlp;
  }
  const pubsubTopic = pubsubTopicFor(req);
  const encoder = createEncoder({ contentTopic: req.contentTopic, pubsubTopic, ephemeral: Boolean(req.ephemeral) });
  const wire = await encoder.toWire(message);
  const out = {
    pubsubTopic,
    timestampMs: message.timestamp.valueOf(),
    wireB64: b64(wire),
    // Gossipsub message id as js-waku computes it: sha256(data).
    msgIdHex: createHash('sha256').update(wire).digest('hex'),
  };
  return { message, encoder, out };
}

async function send(req) {
  requireNode();
  const { message, encoder, out } = await prepareMessage(req);
  let res;
  try {
    res = node.relay ? await node.relay.send(encoder, message) : await node.lightPush.send(encoder, message);
  } catch (err) {
    // gossipsub throws PublishError.NoPeersSubscribedToTopic and the like.
    return { ok: false, ...out, publishError: err.message };
  }
  return {
    ok: res.failures.length === 0 && res.successes.length > 0,
    ...out,
    recipients: res.successes.map(String),
    failures: res.failures.map((f) => ({ error: String(f.error), peerId: f.peerId?.toString() ?? null })),
  };
}

// lightpush pushes a message with js-waku's light push client (light mode):
// by default the sdk's node.lightPush.send, which picks its peers itself;
// with "direct", LightPushCore.send to the remote peer (no topic check, no
// peer management). js-waku's result comes back with what the tap saw.
async function lightpush(req) {
  requireNode();
  if (!node.lightPush) throw new RequestError('lightpush: needs a light node (start with mode "light")');
  const direct = req.direct ?? false;
  if (typeof direct !== 'boolean') throw new RequestError('direct: expected a boolean');
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new RequestError('timeoutMs: expected a positive integer');
  const { message, encoder, out } = await prepareMessage(req);
  let peer = null;
  if (direct) {
    peer = (await node.libp2p.peerStore.all()).find((p) => p.id.toString() === state.remotePeerId);
    if (!peer) throw new RequestError('direct: the remote peer is not in the peer store');
  }
  const tap = { requests: [], responses: [] };
  lightPushTap = tap;
  const t0 = Date.now();
  let res = null;
  let sendError = null;
  let timer;
  try {
    const sending = direct
      ? node.lightPush.protocol.send(encoder, message, peer).then((r) => ({
          successes: r.success ? [r.success] : [],
          failures: r.failure ? [r.failure] : [],
        }))
      : node.lightPush.send(encoder, message);
    sending.catch(() => {}); // a late failure after the timeout
    // js-waku has no timeout of its own: it reads the response until the
    // service closes the stream.
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    res = await Promise.race([sending, timeout]);
  } catch (err) {
    sendError = err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
    if (lightPushTap === tap) lightPushTap = null;
  }
  const ms = Date.now() - t0;
  const first = tap.responses.find((r) => r.hasResponse) ?? null;
  const result = {
    ...out,
    direct,
    ms,
    timedOut: res === null && sendError === null,
    sendError,
    recipients: res ? res.successes.map(String) : [],
    failures: res ? res.failures.map((f) => ({ error: String(f.error), peerId: f.peerId?.toString() ?? null })) : [],
    requests: tap.requests,
    responses: tap.responses,
    isSuccess: first ? first.isSuccess : null,
    info: first ? first.info : null,
    // js-waku's sdk hangs up on a peer whose push failed.
    connected: connectionsTo(state.remotePeerId).some((c) => c.status === 'open'),
  };
  result.ok = result.recipients.length > 0 && result.failures.length === 0;
  return result;
}

async function stop() {
  if (!node) return { ok: true };
  for (const { unsubscribe } of subscriptions.values()) {
    try {
      await unsubscribe();
    } catch {
      // the peer may be gone
    }
  }
  subscriptions.clear();
  filterSubscriptions.clear();
  await node.stop();
  node = null;
  return { ok: true };
}

const HANDLERS = { ping, start, wait, info, metadata, subscribe, unsubscribe, filterPing, store, send, lightpush, stop };

// ------------------------------------------------------------------- loop ----

serveLines(HANDLERS, stop);
