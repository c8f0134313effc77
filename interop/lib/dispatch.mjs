// The request dispatch shared by the harness processes (rln.mjs, waku.mjs):
// one JSON object a line in, one answer out, an optional "id" echoed back.

export async function handleLine(handlers, line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    return { error: `invalid JSON: ${err.message}` };
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) {
    return { error: 'request must be a JSON object' };
  }
  const handler = Object.hasOwn(handlers, req.op) ? handlers[req.op] : undefined;
  let resp;
  if (!handler) {
    resp = { error: `unknown op ${JSON.stringify(req.op)}` };
  } else {
    try {
      resp = await handler(req);
    } catch (err) {
      resp = { error: err instanceof Error ? err.message : String(err) };
    }
  }
  if (req.id !== undefined) resp = { id: req.id, ...resp };
  return resp;
}
