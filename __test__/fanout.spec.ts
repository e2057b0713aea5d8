/**
 * PACKET_FANOUT through the real kernel, each test in a namespace of its own: a group of
 * captures on one interface gets every packet exactly once, `hash` keeps each flow with
 * one member, `lb` deals round robin; groups that do not match are refused with the
 * errno; and the same through `openFanout()`'s worker threads.
 */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import test from 'ava'

import { open, openFanout, openRing, type Capture, type CaptureOptions, type FanoutGroup, type FanoutMode } from 'netring'
import { flowKey, interleave, ipv4SeqOf, type Flow, type Sent } from './helpers/ipv4'
import { A, B, privileged, sendFrom } from './helpers/netns'

const HANDLER = join(__dirname, 'helpers', 'fanout-handler.mjs')

/** 24 flows: UDP, TCP and ICMP between different addresses and ports. */
const FLOWS: Flow[] = Array.from({ length: 24 }, (_, i) => ({
  protocol: (['udp', 'tcp', 'icmp'] as const)[i % 3],
  src: `198.18.0.${1 + (i % 5)}`,
  dst: `198.19.0.${1 + (i % 7)}`,
  sport: 1000 + i,
  dport: i % 3 === 2 ? 0 : 5000 + (i % 4),
}))

/** Reads every member at once until `total` packets arrived in all; then closes them.
 * Returns the sequence numbers each member got. */
async function gather(members: Capture[], total: number): Promise<number[][]> {
  const got = members.map((): number[] => [])
  let count = 0
  await Promise.all(
    members.map(async (capture, i) => {
      for await (const batch of capture.batches()) {
        for (const p of batch) got[i].push(ipv4SeqOf(p.data))
        count += batch.length
        if (count >= total) for (const m of members) m.close()
      }
    }),
  )
  return got
}

/** Every packet sent arrived exactly once across the members. */
function exactlyOnce(t: import('ava').ExecutionContext, got: number[][], sent: Sent[]): void {
  const all = got.flat().sort((x, y) => x - y)
  t.is(all.length, sent.length, 'as many packets arrived as were sent')
  t.deepEqual(all, sent.map((s) => s.seq), 'each one once')
}

/** Each flow's packets all went to one member; returns how many members got any. */
function flowsStayPut(t: import('ava').ExecutionContext, got: number[][], sent: Sent[]): number {
  const memberOf = new Map<string, Set<number>>()
  got.forEach((seqs, member) => {
    for (const seq of seqs) {
      const key = flowKey(sent[seq].flow)
      memberOf.set(key, (memberOf.get(key) ?? new Set()).add(member))
    }
  })
  const split = [...memberOf].filter(([, members]) => members.size > 1).map(([key]) => key)
  t.deepEqual(split, [], 'no flow is split between members')
  return got.filter((seqs) => seqs.length > 0).length
}

const methods: Array<[string, string, CaptureOptions]> = [
  ['ring V3', 'ring', {}],
  ['ring V2', 'ring', { version: 2 }],
  ['int (recv)', 'int', { bufferSize: 16 << 20 }],
]

for (const [name, scheme, options] of methods) {
  privileged(`${name}: a hash group of 4 gets every packet once and keeps each flow with one member`, async (t, ns) => {
    const first = open(`${scheme}:${A}`, { ...options, netns: ns.name, fanout: { mode: 'hash' } })
    const group = first.fanoutGroup as number
    t.true(Number.isInteger(group) && group >= 0 && group <= 0xffff, `the kernel picked group ${group}`)
    const members = [first]
    for (let i = 1; i < 4; i++) members.push(open(`${scheme}:${A}`, { ...options, netns: ns.name, fanout: { mode: 'hash', group } }))
    t.deepEqual(
      members.map((m) => m.fanoutGroup),
      [group, group, group, group],
    )
    const sent = interleave(FLOWS, 40, ns.mac(A))
    const received = gather(members, sent.length)
    await sendFrom(ns, sent.map((s) => s.frame))
    const got = await received
    exactlyOnce(t, got, sent)
    const used = flowsStayPut(t, got, sent)
    // 24 flows over 4 members all landing on one has a chance of 4^-23.
    t.true(used > 1, `${used} members got packets: ${got.map((g) => g.length).join(', ')}`)
    const stats = members.map((m) => m.stats())
    t.is(
      stats.reduce((sum, s) => sum + s.received, 0),
      sent.length,
      'the members\' received counts add up to what was sent',
    )
    t.deepEqual(
      stats.map((s) => s.delivered),
      got.map((g) => g.length),
    )
  })

  privileged(`${name}: an lb group of 3 deals packets round robin`, async (t, ns) => {
    const members = [open(`${scheme}:${A}`, { ...options, netns: ns.name, fanout: { mode: 'lb', group: 7 } })]
    members.push(open(`${scheme}:${A}`, { ...options, netns: ns.name, fanout: { mode: 'lb', group: 7 } }))
    members.push(open(`${scheme}:${A}`, { ...options, netns: ns.name, fanout: { mode: 'lb', group: 7 } }))
    const sent = interleave(FLOWS.slice(0, 3), 100, ns.mac(A))
    const received = gather(members, sent.length)
    await sendFrom(ns, sent.map((s) => s.frame))
    const got = await received
    exactlyOnce(t, got, sent)
    t.deepEqual(
      got.map((g) => g.length),
      [100, 100, 100],
    )
  })
}

privileged('a filter applies to each member; what it rejects reaches no member', async (t, ns) => {
  const members = [0, 1].map(() => openRing(A, { netns: ns.name, fanout: { mode: 'lb', group: 9 }, filter: 'udp' }))
  const sent = interleave(FLOWS, 10, ns.mac(A))
  const udp = sent.filter((s) => s.flow.protocol === 'udp')
  const received = gather(members, udp.length)
  await sendFrom(ns, sent.map((s) => s.frame))
  const got = await received
  t.deepEqual(
    got.flat().sort((x, y) => x - y),
    udp.map((s) => s.seq),
  )
  // lb deals every packet in turn, before the member's filter: so the UDP ones land
  // wherever their turn fell, and the split need not be even.
  t.is(members.reduce((sum, m) => sum + m.stats().received, 0), udp.length)
})

privileged('joining a group with other settings is refused with the group, the mode and the errno', (t, ns) => {
  const first = openRing(A, { netns: ns.name, fanout: { mode: 'hash', group: 42 } })
  t.is(first.fanoutGroup, 42)
  const cases: Array<[string, CaptureOptions['fanout'], string]> = [
    [A, { mode: 'lb', group: 42 }, 'PACKET_FANOUT on "nr0" could not join group 42 (mode lb, flags none)'],
    [A, { mode: 'hash', group: 42, defrag: true }, 'PACKET_FANOUT on "nr0" could not join group 42 (mode hash, flags defrag)'],
    [B, { mode: 'hash', group: 42 }, 'PACKET_FANOUT on "nr1" could not join group 42 (mode hash, flags none)'],
  ]
  for (const [iface, fanout, message] of cases) {
    const error = t.throws(() => openRing(iface, { netns: ns.name, fanout }), { instanceOf: Error })
    t.is((error as NodeJS.ErrnoException).code, 'EINVAL')
    t.is(
      error!.message,
      `${message}: the group exists in this network namespace with another mode or flags, or on another interface (EINVAL)`,
    )
  }
  // A matching member still joins, and ids the kernel picks never clash with 42.
  const second = openRing(A, { netns: ns.name, fanout: { mode: 'hash', group: 42 } })
  const picked = [0, 1, 2].map(() => openRing(A, { netns: ns.name, fanout: { mode: 'cpu', defrag: true } }))
  const ids = picked.map((c) => c.fanoutGroup)
  t.is(new Set([...ids, 42]).size, 4, `picked ${ids.join(', ')}`)
  t.is(openRing(A, { netns: ns.name }).fanoutGroup, undefined)
  for (const c of [first, second, ...picked]) c.close()
})

privileged('ignoreOutgoing holds for a fanout member (PACKET_FANOUT_FLAG_IGNORE_OUTGOING)', async (t, ns) => {
  // Sent from B: a member on B with ignoreOutgoing sees none of it, one without sees all.
  const quiet = openRing(B, { netns: ns.name, ignoreOutgoing: true, fanout: { mode: 'hash' } })
  const loud = openRing(B, { netns: ns.name, fanout: { mode: 'hash' } })
  const sent = interleave(FLOWS, 5, ns.mac(A))
  const received = gather([loud], sent.length)
  await sendFrom(ns, sent.map((s) => s.frame))
  t.is((await received)[0].length, sent.length)
  t.like(quiet.stats(), { received: 0, dropped: 0 })
  quiet.close()
})

test('bad fanout options are typed errors, raised before any syscall', (t) => {
  const cases: Array<[unknown, new (...args: never[]) => Error, string]> = [
    [{ mode: 'roundrobin' }, TypeError, 'unknown fanout mode "roundrobin"; known: "hash", "lb", "cpu", "rollover", "random", "queue"'],
    [{ mode: 'hash', group: 65536 }, RangeError, 'fanout group 65536 must be from 0 to 65535'],
    [{ mode: 'hash', group: -1 }, RangeError, 'fanout group -1 must be an integer from 0 to 65535'],
    [{ mode: 'hash', group: 1.5 }, RangeError, 'fanout group 1.5 must be an integer from 0 to 65535'],
    [{ mode: 'rollover', rollover: true }, TypeError, 'fanout flag rollover does not apply to mode "rollover", which always rolls over'],
    [{}, TypeError, "fanout option mode is required: 'hash', 'lb', 'cpu', 'rollover', 'random' or 'queue'"],
    [{ mode: 'hash', id: 3 }, TypeError, 'unknown fanout option "id"; known: group, mode, defrag, rollover'],
    [{ mode: 'hash', group: '3' }, TypeError, 'fanout option group must be a number, got string'],
    ['hash', TypeError, 'fanout options must be an object, got string'],
  ]
  for (const [fanout, type, message] of cases) {
    for (const uri of ['ring:nr-none0', 'int:nr-none0']) {
      t.throws(() => open(uri, { fanout } as CaptureOptions), { instanceOf: type, message })
    }
  }
})

/** Polls the group's statistics until its workers have been handed `count` packets. */
async function delivered(group: FanoutGroup, count: number): Promise<void> {
  while ((await group.stats()).total.delivered < count) await sleep(5)
}

interface HandlerResult {
  worker: number
  workers: number
  group: number
  seen: number[]
}

const helperCases: Array<[string, FanoutMode, CaptureOptions]> = [
  ['ring V3', 'hash', {}],
  ['int (recv)', 'hash', { bufferSize: 16 << 20 }],
  ['ring V2', 'lb', { version: 2 }],
]

for (const [name, mode, options] of helperCases) {
  privileged(`openFanout (${name}, ${mode}): 3 workers get every packet once between them`, async (t, ns) => {
    const scheme = 'bufferSize' in options ? 'int' : 'ring'
    const group = await openFanout(`${scheme}:${A}`, { ...options, netns: ns.name, workers: 3, handler: HANDLER, fanout: { mode } })
    t.is(group.workers, 3)
    t.is(group.mode, mode)
    t.is(new Set(group.threadIds).size, 3)
    const sent = interleave(FLOWS, 30, ns.mac(A))
    await sendFrom(ns, sent.map((s) => s.frame))
    await delivered(group, sent.length)
    const report = await group.close()
    t.true(group.closed)
    const results = report.results as HandlerResult[]
    t.deepEqual(
      results.map((r) => [r.worker, r.workers, r.group]),
      [0, 1, 2].map((i) => [i, 3, group.group]),
    )
    const got = results.map((r) => r.seen)
    exactlyOnce(t, got, sent)
    if (mode === 'hash') {
      flowsStayPut(t, got, sent)
    } else {
      t.deepEqual(
        got.map((g) => g.length),
        [sent.length / 3, sent.length / 3, sent.length / 3],
      )
    }
    t.deepEqual(
      report.workers.map((s) => s.delivered),
      got.map((g) => g.length),
      'per-worker stats match what each handler saw',
    )
    t.like(report.total, { received: sent.length, dropped: 0, delivered: sent.length })
    t.deepEqual(await group.close(), report, 'close() is idempotent')
  })
}

privileged('openFanout: a handler that throws ends the group with its error', async (t, ns) => {
  const group = await openFanout(A, { netns: ns.name, workers: 2, handler: HANDLER, fanout: { mode: 'lb', group: 1234 }, data: { throwAt: 3 } })
  t.is(group.group, 1234)
  await sendFrom(ns, interleave(FLOWS, 1, ns.mac(A)).map((s) => s.frame))
  const error = await t.throwsAsync(group.done, { instanceOf: RangeError, message: /worker [01] was told to fail/ })
  t.regex(error!.stack ?? '', /at fanout worker [01]/)
  t.true(group.closed)
  await t.throwsAsync(group.close(), { is: error })
})

privileged('openFanout: failures while opening reject with the worker\'s error and stop the others', async (t, ns) => {
  const missing = await t.throwsAsync(openFanout('nope0', { netns: ns.name, workers: 2, handler: HANDLER }))
  t.is((missing as NodeJS.ErrnoException).code, 'ENODEV')
  t.is(missing!.message, 'no such interface "nope0" (ENODEV)')
  await t.throwsAsync(openFanout(A, { netns: ns.name, workers: 2, handler: join(__dirname, 'helpers', 'no-default.mjs') }), {
    instanceOf: TypeError,
    message: /must export a function as default, got undefined/,
  })
  const notFound = await t.throwsAsync(openFanout(A, { netns: ns.name, workers: 2, handler: join(__dirname, 'helpers', 'nothing-here.mjs') }))
  t.is((notFound as NodeJS.ErrnoException).code, 'ERR_MODULE_NOT_FOUND')
  // A group already there with another mode: the first worker cannot join it.
  const other = openRing(A, { netns: ns.name, fanout: { mode: 'cpu', group: 5 } })
  const mismatch = await t.throwsAsync(openFanout(A, { netns: ns.name, workers: 2, handler: HANDLER, fanout: { group: 5 } }))
  t.is((mismatch as NodeJS.ErrnoException).code, 'EINVAL')
  t.regex(mismatch!.message, /could not join group 5 \(mode hash, flags none\)/)
  other.close()
})

privileged('openFanout: an AbortSignal closes the group', async (t, ns) => {
  const controller = new AbortController()
  const group = await openFanout(A, { netns: ns.name, workers: 2, handler: HANDLER, signal: controller.signal })
  controller.abort()
  const report = await group.done
  t.true(group.closed)
  t.deepEqual(report.total, { received: 0, dropped: 0, freezes: 0, delivered: 0 })
  // The reason is a DOMException, which ava's throwsAsync does not take for an Error.
  const early = await openFanout(A, { netns: ns.name, workers: 2, handler: HANDLER, signal: controller.signal }).then(
    () => undefined,
    (e: unknown) => e as Error,
  )
  t.is(early?.name, 'AbortError', 'an aborted signal refuses to open')
})

test('openFanout: bad options are rejected before any worker starts', async (t) => {
  await t.throwsAsync(openFanout('eth0', { workers: 0, handler: HANDLER }), { instanceOf: RangeError, message: 'workers 0 must be an integer from 1 to 256' })
  await t.throwsAsync(openFanout('eth0', { workers: 2.5, handler: HANDLER }), { instanceOf: RangeError, message: 'workers 2.5 must be an integer from 1 to 256' })
  await t.throwsAsync(openFanout('eth0', { workers: 2 } as never), { instanceOf: TypeError, message: 'option handler must be a module path or URL, got undefined' })
  await t.throwsAsync(openFanout('eth0', { workers: 2, handler: HANDLER, fanout: 'hash' } as never), {
    instanceOf: TypeError,
    message: 'option fanout must be an object, got string',
  })
  await t.throwsAsync(openFanout(42 as unknown as string, { handler: HANDLER }), { instanceOf: TypeError, message: 'interface must be a string, got number' })
})
