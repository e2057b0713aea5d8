/**
 * Capture through the real kernel (`ring:` V3 and V2, `int:`), each test in a namespace
 * of its own: exact counts, bytes, order, lengths, direction, VLAN tags, statistics,
 * closing, kept packets, and an interface that disappears.
 */
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { setImmediate } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { inspect } from 'node:util'
import { runInNewContext } from 'node:vm'
import { join } from 'node:path'
import test from 'ava'

import { open, openRing, type Capture, type CaptureOptions, type Packet } from 'netring'
import { A, B, frame, privileged, sendFrom, seqOf, type Netns } from './helpers/netns'

/** Collects `count` packets from `capture`, then closes it. A `zeroCopy` capture's
 * packets are kept as copies, taken in the loop body while they are valid. */
async function collect(capture: Capture, count: number, { zeroCopy }: CaptureOptions = {}): Promise<Packet[]> {
  const packets: Packet[] = []
  if (count === 0) return packets
  for await (const packet of capture) {
    packets.push(zeroCopy ? packet.copy() : packet)
    if (packets.length === count) break
  }
  return packets
}

const methods: Array<[string, string, CaptureOptions]> = [
  ['ring V3', 'ring', {}],
  ['ring V2', 'ring', { version: 2 }],
  ['ring V3 zeroCopy', 'ring', { zeroCopy: true }],
  ['ring V2 zeroCopy', 'ring', { version: 2, zeroCopy: true }],
  ['int (recv)', 'int', { bufferSize: 16 << 20 }],
]

for (const [name, scheme, options] of methods) {
  privileged(`${name}: every frame arrives once, in order, byte for byte`, async (t, ns) => {
    const capture = open(`${scheme}:${A}`, { ...options, netns: ns.name })
    const mac = ns.mac(A)
    const sent = Array.from({ length: 2000 }, (_, i) => frame(i, 60 + ((i * 7) % 1455), mac))
    const received = collect(capture, sent.length, options)
    await sendFrom(ns, sent)
    const packets = await received
    t.is(packets.length, sent.length)
    packets.forEach((p, i) => {
      if (!p.data.equals(sent[i])) t.fail(`packet ${i} differs: seq ${seqOf(p.data)}`)
    })
    t.deepEqual(
      packets.map((p) => p.length),
      sent.map((f) => f.length),
    )
    t.true(packets.every((p) => p.capturedLength === p.length && p.direction === 'incoming'))
    const ifindex = ns.ifindex(A)
    t.true(packets.every((p) => p.ifindex === ifindex))
    const stamps = packets.map((p) => p.timestamp)
    t.true(stamps.every((s, i) => i === 0 || s >= stamps[i - 1]), 'timestamps never go back')
    const now = BigInt(Date.now()) * 1_000_000n
    t.true(stamps[0] > now - 60_000_000_000n && stamps[0] <= now, 'timestamps are ns since the epoch')
    t.deepEqual(capture.stats(), { received: 2000, dropped: 0, freezes: 0, delivered: 2000 })
  })

  privileged(`${name}: snaplen keeps that many bytes and reports the wire length`, async (t, ns) => {
    const capture = open(`${scheme}:${A}`, { ...options, netns: ns.name, snaplen: 64 })
    const sent = [frame(0, 200), frame(1, 64), frame(2, 1514), frame(3, 30)]
    const received = collect(capture, sent.length, options)
    await sendFrom(ns, sent)
    const packets = await received
    t.deepEqual(
      packets.map((p) => [p.length, p.capturedLength, p.data.length]),
      [
        [200, 64, 64],
        [64, 64, 64],
        [1514, 64, 64],
        [30, 30, 30], // veth does not pad a short frame
      ],
    )
    t.true(packets.every((p, i) => p.data.equals(sent[i].subarray(0, p.capturedLength))))
  })
}

privileged('direction: incoming, broadcast, multicast, otherhost and outgoing', async (t, ns) => {
  const toA = frame(0, 64, ns.mac(A))
  const broadcast = frame(1, 64, Buffer.from('ffffffffffff', 'hex'))
  const multicast = frame(2, 64, Buffer.from('01005e000001', 'hex'))
  const other = frame(3, 64, Buffer.from('02aabbccddee', 'hex'))
  const atA = openRing(A, { netns: ns.name })
  const atB = openRing(B, { netns: ns.name })
  const quiet = openRing(B, { netns: ns.name, ignoreOutgoing: true })
  const gotA = collect(atA, 4)
  const gotB = collect(atB, 4)
  await sendFrom(ns, [toA, broadcast, multicast, other])
  t.deepEqual(
    (await gotA).map((p) => p.direction),
    ['incoming', 'broadcast', 'multicast', 'otherhost'],
  )
  t.deepEqual(
    (await gotB).map((p) => p.direction),
    ['outgoing', 'outgoing', 'outgoing', 'outgoing'],
  )
  // The sender's own capture with ignoreOutgoing saw none of it.
  t.deepEqual(quiet.stats(), { received: 0, dropped: 0, freezes: 0, delivered: 0 })
  quiet.close()
})

privileged('promiscuous mode is on while the capture is open, and off after', (t, ns) => {
  // PACKET_MR_PROMISC raises the device's promiscuity count (`ip -d`), not the IFF_PROMISC
  // flag a user sets with `ip link set promisc on`.
  const promiscuity = (): number => JSON.parse(ns.ip('-d', '-j', 'link', 'show', A))[0].promiscuity
  t.is(promiscuity(), 0)
  for (const scheme of ['ring', 'int']) {
    const capture = open(`${scheme}:${A}`, { netns: ns.name, promiscuous: true })
    t.is(promiscuity(), 1, `${scheme}: PACKET_MR_PROMISC counted`)
    capture.close()
    t.is(promiscuity(), 0, `${scheme}: closing the socket dropped the membership`)
  }
})

/** A frame with an 802.1Q or 802.1ad tag after the MAC addresses. */
function tagged(seq: number, tpid: number, tci: number): Buffer {
  const inner = frame(seq, 68)
  return Buffer.concat([inner.subarray(0, 12), Buffer.from([tpid >> 8, tpid & 0xff, tci >> 8, tci & 0xff]), inner.subarray(12)])
}

for (const [name, scheme, options] of methods) {
  privileged(`${name}: a VLAN tag is reported and kept in the data`, async (t, ns) => {
    // The veth receive path takes the tag off into the skb (as NIC offload would); the
    // kernel reports it beside the frame and netring puts it back, as libpcap does.
    const capture = open(`${scheme}:${A}`, { ...options, netns: ns.name })
    const sent = [tagged(0, 0x8100, (5 << 13) | 100), tagged(1, 0x88a8, 4000), frame(2, 72)]
    const received = collect(capture, 3, options)
    await sendFrom(ns, sent)
    const [q, ad, plain] = await received
    t.deepEqual(q.vlan, { tci: (5 << 13) | 100, tpid: 0x8100, id: 100 })
    t.deepEqual(ad.vlan, { tci: 4000, tpid: 0x88a8, id: 4000 })
    t.is(plain.vlan, undefined)
    t.deepEqual([q.data, ad.data, plain.data], sent)
    t.deepEqual([q.length, ad.length, plain.length], [72, 72, 72])
  })
}

const tinyRings: Array<[string, CaptureOptions]> = [
  ['V2 ring of 8 frames', { version: 2, frameCount: 8 }],
  ['V3 ring of 2 blocks of 4 KiB', { blockSize: 4096, blockCount: 2, blockTimeout: 1 }],
  ['V2 ring of 8 frames, zeroCopy', { version: 2, frameCount: 8, zeroCopy: true }],
]

for (const [name, options] of tinyRings) {
  privileged(`${name}: an overrun is counted as dropped, never lost silently`, async (t, ns) => {
    const capture = openRing(A, { ...options, netns: ns.name })
    const sent = Array.from({ length: 500 }, (_, i) => frame(i, 100))
    await sendFrom(ns, sent) // nobody reads meanwhile: the ring fills up
    const { received, dropped } = capture.stats()
    t.true(dropped > 0, `dropped ${dropped}`)
    t.is(received + dropped, sent.length, 'every frame is received or dropped')
    const packets = await collect(capture, received, options)
    t.is(packets.length, received)
    const seqs = packets.map((p) => seqOf(p.data))
    t.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'what was kept is in order')
    t.true(packets.every((p) => p.data.equals(sent[seqOf(p.data)])))
    t.is(capture.stats().delivered, received)
  })
}

/**
 * Sends `total` frames (sequence numbers 0…total-1, `size(seq)` bytes) in bursts of 4,
 * reading each burst one packet at a time before the next, with `between(seq)` after each
 * burst; returns the packets `keep` chose. Ends the iteration, which closes `capture`.
 */
async function burstsOf4(
  ns: Netns,
  capture: Capture,
  total: number,
  size: (seq: number) => number,
  keep: (seq: number) => boolean,
  between?: (seq: number) => Promise<void>,
): Promise<Packet[]> {
  const packets = capture[Symbol.asyncIterator]()
  const kept: Packet[] = []
  for (let seq = 0; seq < total; seq += 4) {
    await sendFrom(
      ns,
      [0, 1, 2, 3].map((k) => frame(seq + k, size(seq + k))),
    )
    for (let k = 0; k < 4; k++) {
      const { value } = await packets.next()
      if (keep(seq + k)) kept.push(value as Packet)
    }
    await between?.(seq)
  }
  await packets.return?.()
  return kept
}

privileged('packets kept after the ring moved on, and after close, still hold their bytes', async (t, ns) => {
  const capture = openRing(A, { version: 2, frameCount: 4, netns: ns.name })
  // The ring's slots are reused 250 times while every 50th packet is kept.
  const kept = await burstsOf4(ns, capture, 1000, () => 300, (seq) => seq % 50 === 0)
  t.true(capture.closed)
  t.is(capture.stats().dropped, 0)
  t.deepEqual(
    kept.map((p) => seqOf(p.data)),
    Array.from({ length: 20 }, (_, i) => i * 50),
  )
  kept.forEach((p) => t.true(p.data.equals(frame(seqOf(p.data), 300))))
  const copy = kept[0].copy()
  t.true(copy.data.equals(kept[0].data))
  t.is(copy.timestamp, kept[0].timestamp)
})

privileged('batch memory is reused only once the garbage collector freed it: kept packets keep their bytes', async (t, ns) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const capture = openRing(A, { version: 2, frameCount: 4, netns: ns.name })
  // Each burst is its own batch; between bursts the collector frees the batches nobody
  // holds, their memory goes back to the pool and takes the next bursts' packets.
  const size = (seq: number): number => 200 + (seq % 4) * 300
  const kept = await burstsOf4(ns, capture, 800, size, (seq) => seq % 30 === 0, async (seq) => {
    if (seq % 40 === 0) {
      gc()
      await setImmediate() // finalizers run after the collection
    }
  })
  t.is(kept.length, 27)
  kept.forEach((p) => t.true(p.data.equals(frame(seqOf(p.data), size(seqOf(p.data)))), `packet ${seqOf(p.data)}`))
})

for (const [name, options] of [['V3', {}], ['V2', { version: 2 }]] as Array<[string, CaptureOptions]>) {
  privileged(`ring ${name} zeroCopy: data is valid until the iteration leaves its batch; copies and numbers stay`, async (t, ns) => {
    const capture = openRing(A, { ...options, netns: ns.name, zeroCopy: true })
    const packets = capture[Symbol.asyncIterator]()
    // One frame at a time, each read before the next is sent: every batch holds one packet.
    await sendFrom(ns, [frame(0, 100)])
    const first = (await packets.next()).value as Packet
    const bytes = first.data
    const copy = first.copy()
    t.true(bytes.equals(frame(0, 100)))
    await sendFrom(ns, [frame(1, 200)])
    const second = (await packets.next()).value as Packet
    t.true(second.data.equals(frame(1, 200)))
    const error = t.throws(() => first.data)
    t.is((error as NodeJS.ErrnoException).code, 'ERR_NETRING_RELEASED')
    t.throws(() => first.copy(), { message: /ring slot has been given back to the kernel; keep packet.copy\(\)/ })
    t.is(first.length, 100, 'the numbers stay')
    t.true(copy.data.equals(frame(0, 100)))
    t.is(copy.timestamp, first.timestamp)

    // batches(): a batch's packets go with the next batch.
    const batches = capture.batches()
    await sendFrom(ns, [frame(2, 300)])
    const [third] = (await batches.next()).value!
    t.true(third.data.equals(frame(2, 300)))
    t.throws(() => second.data, { message: /given back/ })
    await sendFrom(ns, [frame(3, 400)])
    const fourth = (await batches.next()).value!.at(0)!
    t.true(fourth.data.equals(frame(3, 400)))
    t.throws(() => third.data, { message: /given back/ })

    // close() gives back the rest; a data Buffer kept from before reads zeros, not freed memory.
    const kept = fourth.data
    capture.close()
    t.throws(() => fourth.data, { message: /given back/ })
    t.is(kept.length, 400)
    t.true(kept.every((b: number) => b === 0))
    t.regex(inspect(fourth), /data: '<released>'/)
  })
}

privileged('ring zeroCopy: a closed ring stays mapped (as zeros) until its last Buffer is collected', async (t, ns) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  // Adjacent mappings merge in /proc/self/maps, so the rings are counted by the address
  // space they take: 20 of 8 MiB, far more than the collector itself maps or unmaps.
  const mib = (): number => Number(/VmSize:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024
  const sockets = (): number => readFileSync('/proc/self/maps', 'utf8').split('socket:').length - 1
  // What earlier tests left for the collector (rings, batch memory) goes first, so that
  // it is not unmapped in the middle of the count.
  gc()
  await setImmediate()
  const before = mib()
  let kept: Buffer[] = []
  for (let round = 0; round < 20; round++) {
    const capture = openRing(A, { netns: ns.name, zeroCopy: true, blockSize: 1 << 20, blockCount: 8 })
    const packets = capture[Symbol.asyncIterator]()
    await sendFrom(ns, [frame(round, 64)])
    const packet = (await packets.next()).value as Packet
    kept.push(packet.data)
    t.is(seqOf(packet.data), round)
    capture.close()
    t.is(sockets(), 0, 'the ring no longer maps (and so holds open) the socket')
  }
  // Reading them all proves they are mapped; the sizes, that the collector unmaps them.
  t.true(kept.every((data) => data.length === 64 && data.every((b: number) => b === 0)))
  const held = mib()
  t.true(held - before >= 120, `each closed ring is still mapped behind its Buffer: ${held - before} MiB more`)
  kept = []
  // Node runs the Buffers' finalizers in a task after the collection, later on a busy
  // machine: collect again until the rings are unmapped, or give up after 50 tries.
  for (let tries = 0; tries < 50 && held - mib() < 120; tries++) {
    gc()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.true(held - mib() >= 120, `the collector unmapped them: ${held - mib()} MiB less`)
})

privileged('close() during iteration ends the loop cleanly', async (t, ns) => {
  const capture = openRing(A, { netns: ns.name })
  const loop = collect(capture, 1_000_000)
  setTimeout(() => capture.close(), 50)
  t.deepEqual(await loop, [])
  capture.close() // idempotent
  t.true(capture.closed)
  t.is(capture.stats().received, 0)
})

privileged('close() from inside the loop body, and batches()', async (t, ns) => {
  const capture = openRing(A, { netns: ns.name })
  const sent = Array.from({ length: 100 }, (_, i) => frame(i))
  const got: number[] = []
  const loop = (async () => {
    for await (const batch of capture.batches()) {
      for (const p of batch) got.push(seqOf(p.data))
      t.is(batch.at(-1)?.data.length, 64)
      if (got.length === sent.length) capture.close()
    }
  })()
  await sendFrom(ns, sent)
  await loop
  t.deepEqual(got, sent.map((_, i) => i))
})

privileged('an iteration after close is a clear error', async (t, ns) => {
  const capture = openRing(A, { netns: ns.name })
  capture.close()
  const error = await t.throwsAsync(async () => {
    for await (const _ of capture) t.fail('no packet after close')
  })
  t.is((error as NodeJS.ErrnoException).code, 'ERR_NETRING_CLOSED')
  t.regex(error!.message, /ring:nr0 is closed/)
})

for (const [name, scheme, options] of methods) {
  privileged(`${name}: the interface deleted mid-capture ends the iteration with an error`, async (t, ns) => {
    const capture = open(`${scheme}:${A}`, { ...options, netns: ns.name })
    const mac = ns.mac(A)
    const sent = Array.from({ length: 10 }, (_, i) => frame(i, 64, mac))
    const got: Packet[] = []
    const loop = (async () => {
      for await (const p of capture) got.push(p)
    })()
    await sendFrom(ns, sent)
    ns.ip('link', 'del', A)
    const error = await t.throwsAsync(loop)
    t.is((error as NodeJS.ErrnoException).code, 'ENETDOWN')
    t.regex(error!.message, /interface "nr0" was removed during the capture/)
    t.is(got.length, 10, 'packets captured before the removal are delivered first')
    t.true(capture.closed)
    t.is(capture.stats().received, 10)
  })

  privileged(`${name}: packets queued before the interface was deleted come before the error`, async (t, ns) => {
    const capture = open(`${scheme}:${A}`, { ...options, netns: ns.name })
    const sent = Array.from({ length: 10 }, (_, i) => frame(i, 64, ns.mac(A)))
    // Nothing reads or waits until the interface is gone.
    await sendFrom(ns, sent)
    ns.ip('link', 'del', A)
    const got: number[] = []
    const error = await t.throwsAsync(async () => {
      for await (const p of capture) got.push(seqOf(p.data))
    })
    t.is((error as NodeJS.ErrnoException).code, 'ENETDOWN')
    t.deepEqual(got, sent.map((_, i) => i))
    t.true(capture.closed)
  })
}

privileged('an AbortSignal closes the capture and the loop rejects with its reason', async (t, ns) => {
  const controller = new AbortController()
  const capture = openRing(A, { netns: ns.name, signal: controller.signal })
  const loop = collect(capture, 10)
  setTimeout(() => controller.abort(), 20)
  // The reason is a DOMException, which ava's throwsAsync does not take for an Error.
  const error = await loop.then(
    () => undefined,
    (e: unknown) => e as Error,
  )
  t.is(error?.name, 'AbortError')
  t.true(capture.closed)
  let early: unknown
  try {
    openRing(A, { netns: ns.name, signal: controller.signal })
  } catch (e) {
    early = e
  }
  t.is((early as Error | undefined)?.name, 'AbortError', 'an aborted signal refuses to open')
})

privileged('a missing interface is named (ENODEV)', (t, ns) => {
  for (const scheme of ['ring', 'int']) {
    const error = t.throws(() => open(`${scheme}:nope0`, { netns: ns.name }))
    t.is((error as NodeJS.ErrnoException).code, 'ENODEV')
    t.is(error!.message, 'no such interface "nope0" (ENODEV)')
  }
})

privileged('a missing network namespace is named', (t) => {
  const error = t.throws(() => openRing(A, { netns: 'nrt-does-not-exist' }), { instanceOf: TypeError })
  t.regex(error!.message, /network namespace "nrt-does-not-exist" does not exist \(\/run\/netns\/nrt-does-not-exist\)/)
})

privileged('without CAP_NET_RAW the error says so', async (t) => {
  const { spawn } = await import('node:child_process')
  // The same code in a child process whose capability bounding set lacks CAP_NET_RAW:
  // still root (so it can read the checkout wherever it is), but without that one right.
  const child = spawn(
    'setpriv',
    ['--bounding-set=-net_raw', '--inh-caps=-net_raw', process.execPath, '-e',
      `try { require(${JSON.stringify(join(__dirname, '..'))}).openRing('lo') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (chunk) => (out += chunk))
  await once(child, 'exit')
  const { code, message } = JSON.parse(out)
  t.is(code, 'EPERM')
  t.regex(message, /socket\(AF_PACKET\) on "lo" was refused \(EPERM\): .* needs CAP_NET_RAW/)
})

test('bad options are typed errors, raised before any syscall', (t) => {
  // A made-up interface: these fail on the option, so no socket was ever made.
  const cases: Array<[CaptureOptions, new (...args: never[]) => Error, string]> = [
    [{ blockSize: 5000 }, RangeError, 'blockSize 5000 must be a non-zero multiple of the page size 4096'],
    [{ frameSize: 100 }, RangeError, 'frameSize 100 must be a multiple of 16'],
    [{ version: 2, frameSize: 1024, snaplen: 1500 }, RangeError, 'frameSize 1024 is too small for snaplen 1500: it needs at least 1566'],
    [{ version: 2, frameSize: 2048, frameCount: 3 }, RangeError, 'frameCount 3 must be a multiple of the 2 frames per block'],
    [{ blockSize: 4096, frameSize: 8192 }, RangeError, 'frameSize 8192 must not exceed blockSize 4096'],
    [{ version: 4 }, RangeError, 'version 4 must be 2 (TPACKET_V2) or 3 (TPACKET_V3)'],
    [{ snaplen: 1.5 }, RangeError, 'snaplen 1.5 must be an integer'],
    [{ snaplen: -1 }, RangeError, 'snaplen -1 must be an integer'],
    [{ blockTimeout: 0 }, RangeError, 'blockTimeout 0 must be from 1 to 60000 milliseconds'],
    [{ version: 2, blockTimeout: 5 }, TypeError, 'option blockTimeout applies to TPACKET_V3 rings (version 3) only'],
    [{ bufferSize: 1 << 20 }, TypeError, 'option bufferSize applies to int: captures only'],
    [{ snaplen: '64' } as unknown as CaptureOptions, TypeError, 'option snaplen must be a number, got string'],
    [{ blocksize: 4096 } as unknown as CaptureOptions, TypeError, 'unknown option "blocksize"; known: version, blockSize'],
  ]
  for (const [options, type, message] of cases) {
    const error = t.throws(() => openRing('nr-none0', options), { instanceOf: type })
    t.true(error!.message.startsWith(message), `${error!.message} should start with ${message}`)
  }
  t.throws(() => open('int:nr-none0', { blockSize: 4096 }), {
    instanceOf: TypeError,
    message: 'option blockSize applies to ring: captures (PACKET_MMAP) only, not int:',
  })
  t.throws(() => open('int:nr-none0', { zeroCopy: true }), {
    instanceOf: TypeError,
    message: 'option zeroCopy applies to ring: captures (PACKET_MMAP) only, not int:',
  })
  t.throws(() => openRing('nr-none0', { zeroCopy: 1 as unknown as boolean }), {
    instanceOf: TypeError,
    message: 'option zeroCopy must be a boolean, got number',
  })
  const range = t.throws(() => openRing('nr-none0', { blockCount: 0 }))
  t.is((range as NodeJS.ErrnoException).code, 'ERR_OUT_OF_RANGE')
})

test('URIs: unknown schemes and bad interface names are TypeErrors', (t) => {
  t.throws(() => open('pcap:eth0'), { instanceOf: TypeError, message: 'unknown URI scheme "pcap:" in "pcap:eth0"; known: ring:, int:, pcapfile:' })
  t.throws(() => open('eth0'), { instanceOf: TypeError, message: 'URI "eth0" has no scheme; known: ring:, int:, pcapfile:' })
  t.throws(() => open('ring:'), { instanceOf: TypeError, message: /interface name "" must be 1 to 15 bytes/ })
  t.throws(() => openRing('much-too-long-name0'), { instanceOf: TypeError, message: /interface name "much-too-long-name0"/ })
  t.throws(() => openRing(42 as unknown as string), { instanceOf: TypeError, message: 'interface must be a string, got number' })
  t.throws(() => openRing('eth0', 5 as unknown as CaptureOptions), { instanceOf: TypeError, message: 'options must be an object, got number' })
})
