/**
 * Injection through the real kernel: frames sent with `openTx` on one end of a veth pair
 * (TX ring or send()) and captured with netring's RX ring on the other.
 */
import test from 'ava'

import { openRing, openTx, type Capture, type TxOptions } from 'netring'
import { A, B, frame, privileged, seqOf, type Netns } from './helpers/netns'

/** Counts what arrives on A until `count` or close; checks every frame as it comes. */
async function receive(capture: Capture, count: number, check: (data: Buffer, index: number) => void): Promise<number> {
  let seen = 0
  for await (const batch of capture.batches()) {
    for (const p of batch) check(p.data, seen++)
    if (seen >= count) break
  }
  return seen
}

/** A token bucket on B's egress, with a queue long enough (5 s) never to drop: frames
 * wait in the qdisc, so the TX ring fills and senders must wait for room. */
function rateLimit(ns: Netns, rate: string): void {
  ns.ip('link', 'set', B, 'txqueuelen', '1000')
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process')
  execFileSync('tc', ['-n', ns.name, 'qdisc', 'add', 'dev', B, 'root', 'tbf', 'rate', rate, 'burst', '32kb', 'latency', '5s'])
}

const senders: Array<[string, string, TxOptions]> = [
  ['TX ring V2', 'ring', {}],
  ['TX ring V3', 'ring', { version: 3 }],
  ['int (send)', 'int', {}],
]

for (const [name, scheme, options] of senders) {
  privileged(`${name}: every frame arrives once, in order, byte for byte`, async (t, ns) => {
    const capture = openRing(A, { netns: ns.name })
    const tx = openTx(`${scheme}:${B}`, { ...options, netns: ns.name })
    t.is(tx.uri, `${scheme}:${B}`)
    t.is(tx.maxFrameLength, 1514)
    const sent = Array.from({ length: 1000 }, (_, i) => frame(i, 60 + ((i * 13) % 1455)))
    const arrived = receive(capture, sent.length, (data, i) => {
      if (!data.equals(sent[i])) t.fail(`frame ${i} differs: seq ${seqOf(data)}`)
    })
    for (let i = 0; i < 500; i++) await tx.send(sent[i])
    await tx.sendBatch(sent.slice(500))
    await tx.flush()
    t.deepEqual(tx.stats(), { sent: 1000, errors: 0, queued: 1000 })
    t.deepEqual(await tx.close(), { sent: 1000, errors: 0, queued: 1000 })
    t.is(await arrived, 1000)
    t.is(capture.stats().dropped, 0)
  })
}

privileged('200 000 frames through a 256-slot ring behind a slow qdisc all arrive', async (t, ns) => {
  rateLimit(ns, '300mbit')
  const total = 200_000
  const ring = { netns: ns.name, blockSize: 4 << 20, blockCount: 32 }
  const atA = openRing(A, ring)
  // Frames leave B in order; behind a qdisc that runs on both CPUs, veth may deliver a
  // few of them to A swapped. So: order where they leave, the exact set where they land.
  const leavingB = openRing(B, ring)
  const seen = new Uint8Array(total)
  let duplicates = 0
  const arrived = receive(atA, total, (data) => {
    if (seen[seqOf(data)]++ !== 0) duplicates++
  })
  let expected = 0
  const left = receive(leavingB, total, (data) => {
    if (seqOf(data) === expected) expected++
    else t.fail(`frame ${expected} left B as ${seqOf(data)}`)
  })
  async function* batches(): AsyncGenerator<Buffer[]> {
    for (let i = 0; i < total; i += 1000) yield Array.from({ length: 1000 }, (_, k) => frame(i + k, 64))
  }
  const tx = openTx(B, { netns: ns.name, frameCount: 256 })
  // Liveness, not timing: with sends waiting for room and two captures reading, timers
  // must still get turns (they got none before senders and captures yielded).
  let ticks = 0
  const ticker = setInterval(() => ticks++, 1)
  t.is(await tx.sendAll(batches()), total)
  clearInterval(ticker)
  t.true(ticks > 0, 'timers ran while 200 000 frames were sent and captured')
  t.deepEqual(await tx.close(), { sent: total, errors: 0, queued: total })
  t.is(await left, total)
  t.is(expected, total, 'every frame left B, in order')
  t.is(await arrived, total)
  t.is(duplicates, 0)
  t.true(seen.every((n) => n === 1), 'every frame arrived exactly once')
  t.deepEqual(atA.stats(), { received: total, dropped: 0, freezes: 0, delivered: total })
})

privileged('close() right after a burst still delivers every frame', async (t, ns) => {
  rateLimit(ns, '50mbit')
  const capture = openRing(A, { netns: ns.name })
  const tx = openTx(B, { netns: ns.name, frameCount: 64 })
  const sent = Array.from({ length: 3000 }, (_, i) => frame(i, 200))
  const seen = new Uint8Array(sent.length)
  const arrived = receive(capture, sent.length, (data) => {
    if (!data.equals(sent[seqOf(data)]) || seen[seqOf(data)]++ !== 0) t.fail(`frame ${seqOf(data)} differs or came twice`)
  })
  // Not awaited: close() waits for the batch in progress, then drains the ring.
  const sending = tx.sendBatch(sent)
  const final = await tx.close()
  await sending
  t.deepEqual(final, { sent: 3000, errors: 0, queued: 3000 })
  t.is(await arrived, 3000)
})

privileged('a rate limit paces frames without dropping any', async (t, ns) => {
  const rate = 1000
  const capture = openRing(A, { netns: ns.name })
  const tx = openTx(B, { netns: ns.name, rate })
  const stamps: bigint[] = []
  const arrived = (async () => {
    for await (const packet of capture) {
      t.is(seqOf(packet.data), stamps.length)
      stamps.push(packet.timestamp)
      if (stamps.length === 100) break
    }
  })()
  await tx.sendBatch(Array.from({ length: 100 }, (_, i) => frame(i)))
  await tx.close()
  await arrived
  t.is(stamps.length, 100)
  // The pacer queues frame i no sooner than i / rate after frame 0, so the kernel's
  // receive timestamps can only be further apart (unpaced, 100 frames arrive within a
  // fraction of a millisecond). SLACK frames allow for frame 0 leaving late.
  const SLACK = 30
  for (let i = SLACK; i < stamps.length; i++) {
    const gap = Number(stamps[i] - stamps[0]) / 1e9
    t.true(gap >= (i - SLACK) / rate, `frame ${i} arrived ${gap * 1000} ms after frame 0: more than ${rate} frames/s`)
  }
})

privileged('bad frames are RangeErrors naming both lengths, and nothing is sent', async (t, ns) => {
  const capture = openRing(A, { netns: ns.name })
  for (const scheme of ['ring', 'int']) {
    const tx = openTx(`${scheme}:${B}`, { netns: ns.name })
    const long = await t.throwsAsync(tx.send(frame(0, 1515)), { instanceOf: RangeError })
    t.regex(long!.message, /1515/)
    t.regex(long!.message, /1514|1500/)
    t.is((long as NodeJS.ErrnoException).code, 'ERR_OUT_OF_RANGE')
    await t.throwsAsync(tx.send(Buffer.alloc(0)), { instanceOf: RangeError, message: /empty/ })
    await t.throwsAsync(tx.send('frame' as unknown as Buffer), { instanceOf: TypeError, message: 'frame 0 must be a Uint8Array, got string' })
    t.deepEqual(await tx.close(), { sent: 0, errors: 0, queued: 0 })
    const closed = await t.throwsAsync(tx.send(frame(1)))
    t.is((closed as NodeJS.ErrnoException).code, 'ERR_NETRING_CLOSED')
    t.is(closed!.message, `sender ${scheme}:${B} is closed`)
    t.deepEqual(await tx.close(), { sent: 0, errors: 0, queued: 0 }, 'close() is idempotent')
  }
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.is(capture.stats().received, 0, 'nothing reached the peer')
  capture.close()
})

privileged('sender open errors: missing interface, refused ring', (t, ns) => {
  const missing = t.throws(() => openTx('nope0', { netns: ns.name }))
  t.is((missing as NodeJS.ErrnoException).code, 'ENODEV')
  t.is(missing!.message, 'no such interface "nope0" (ENODEV)')
})

test('sender options are checked before any syscall', (t) => {
  t.throws(() => openTx('nr-none0', { frameSize: 100 }), { instanceOf: RangeError, message: /frameSize 100 must be a multiple of 16/ })
  t.throws(() => openTx('nr-none0', { version: 1 }), { instanceOf: RangeError, message: /version 1/ })
  t.throws(() => openTx('nr-none0', { rate: 0 }), { instanceOf: RangeError, message: 'rate 0 must be a positive number of frames per second' })
  t.throws(() => openTx('int:nr-none0', { frameCount: 64 }), { instanceOf: TypeError, message: /option frameCount applies to ring: senders only/ })
  t.throws(() => openTx('nr-none0', { snaplen: 64 } as unknown as TxOptions), { instanceOf: TypeError, message: /unknown option "snaplen"/ })
  t.throws(() => openTx('pcap:nr-none0'), { instanceOf: TypeError, message: /unknown URI scheme "pcap:"/ })
})
