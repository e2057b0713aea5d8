/**
 * The handler module fanout.spec.ts gives openFanout(): records the sequence number
 * (last 4 bytes, as helpers/ipv4.ts writes it) of every packet its worker gets, and
 * returns them from done(). `context.data.throwAt`: throw on that many-th packet.
 *
 * Plain JavaScript: on Node 20, worker threads do not get tsx's loader hooks.
 */
const seen = []

export default function handle(packet, context) {
  const data = packet.data
  seen.push(data.readUInt32BE(data.length - 4))
  if (context.data?.throwAt === seen.length) throw new RangeError(`worker ${context.worker} was told to fail`)
}

export function done(context) {
  return { worker: context.worker, workers: context.workers, group: context.group, seen }
}
