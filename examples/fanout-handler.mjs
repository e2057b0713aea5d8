/**
 * The handler module examples/fanout.ts gives openFanout(): each worker thread loads its
 * own copy, so the counters below are per worker. The default export is called with
 * every packet of the worker's share; done() reports when the group closes.
 *
 * Plain JavaScript, so worker threads can load it without a TypeScript loader.
 */
let packets = 0
let bytes = 0
/** Flows seen, keyed by IPv4 addresses and ports: with mode 'hash' no flow is seen by two workers. */
const flows = new Set()

/** @param {import('..').Packet} packet */
export default function count(packet) {
  packets++
  bytes += packet.length
  const d = packet.data
  if (d.length >= 38 && d.readUInt16BE(12) === 0x0800) {
    const ports = 14 + (d[14] & 0x0f) * 4
    flows.add(`${d.readUInt32BE(26)}:${d.readUInt16BE(ports)}>${d.readUInt32BE(30)}:${d.readUInt16BE(ports + 2)}/${d[23]}`)
  }
}

/** @param {import('..').FanoutContext} context */
export function done(context) {
  return { worker: context.worker, packets, bytes, flows: [...flows] }
}
