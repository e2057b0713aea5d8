/**
 * BPF filters: tcpdump expressions (compiled by libpcap at run time) and raw programs,
 * through the real kernel in a namespace of each test's own, on `ring:` V3 and V2 and
 * `int:`; live replacement; statistics; a system without libpcap; and the checks a raw
 * program passes before it is attached.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import test from 'ava'

import { compileFilter, open, openRing, type BpfInstruction, type Capture, type CaptureOptions } from 'netring'
import { interleave, ipv4SeqOf, type Flow, type Sent } from './helpers/ipv4'
import { A, B, frame, privileged, sendFrom } from './helpers/netns'

/** `tcpdump -dd 'udp and dst port 5000'` (tcpdump 4.99.3, libpcap 1.10.3; Ethernet). */
const UDP_DST_5000: BpfInstruction[] = [
  { code: 0x28, jt: 0, jf: 0, k: 0x0000000c },
  { code: 0x15, jt: 0, jf: 7, k: 0x00000800 },
  { code: 0x30, jt: 0, jf: 0, k: 0x00000017 },
  { code: 0x15, jt: 0, jf: 11, k: 0x00000011 },
  { code: 0x28, jt: 0, jf: 0, k: 0x00000014 },
  { code: 0x45, jt: 9, jf: 0, k: 0x00001fff },
  { code: 0xb1, jt: 0, jf: 0, k: 0x0000000e },
  { code: 0x48, jt: 0, jf: 0, k: 0x00000010 },
  { code: 0x15, jt: 5, jf: 6, k: 0x00001388 },
  { code: 0x15, jt: 0, jf: 5, k: 0x000086dd },
  { code: 0x30, jt: 0, jf: 0, k: 0x00000014 },
  { code: 0x15, jt: 0, jf: 3, k: 0x00000011 },
  { code: 0x28, jt: 0, jf: 0, k: 0x00000038 },
  { code: 0x15, jt: 0, jf: 1, k: 0x00001388 },
  { code: 0x6, jt: 0, jf: 0, k: 0x00040000 },
  { code: 0x6, jt: 0, jf: 0, k: 0x00000000 },
]

/** `tcpdump -dd icmp` (same versions): ethertype IPv4, then protocol 1. */
const ICMP: BpfInstruction[] = [
  { code: 0x28, jt: 0, jf: 0, k: 12 }, // ldh [12]
  { code: 0x15, jt: 0, jf: 3, k: 0x0800 }, // jeq #0x800 jt 2 jf 5
  { code: 0x30, jt: 0, jf: 0, k: 23 }, // ldb [23]
  { code: 0x15, jt: 0, jf: 1, k: 1 }, // jeq #0x1 jt 4 jf 5
  { code: 0x6, jt: 0, jf: 0, k: 262144 }, // ret #262144
  { code: 0x6, jt: 0, jf: 0, k: 0 }, // ret #0
]

/** UDP to port 5000 and 6000, TCP to port 5000 (and from 5000), ICMP echo. */
const FLOWS: Flow[] = [
  { protocol: 'udp', src: '198.18.0.1', dst: '198.19.0.1', sport: 1000, dport: 5000 },
  { protocol: 'udp', src: '198.18.0.2', dst: '198.19.0.1', sport: 1001, dport: 6000 },
  { protocol: 'tcp', src: '198.18.0.1', dst: '198.19.0.1', sport: 1002, dport: 5000 },
  { protocol: 'icmp', src: '198.18.0.3', dst: '198.19.0.2', sport: 77, dport: 0 },
  { protocol: 'udp', src: '198.18.0.4', dst: '198.19.0.1', sport: 5000, dport: 1003 },
  { protocol: 'tcp', src: '198.18.0.5', dst: '198.19.0.3', sport: 5000, dport: 80 },
]

/** The sequence numbers of the first `count` packets from `capture` (0: none). */
async function seqs(capture: Capture, count: number, seqOf = ipv4SeqOf): Promise<number[]> {
  const got: number[] = []
  if (count === 0) return got
  for await (const batch of capture.batches()) {
    for (const p of batch) got.push(seqOf(p.data))
    if (got.length >= count) break
  }
  return got
}

/** Waits until an unfiltered capture (opened before the others) has seen all `count`
 * frames: by then every filtered capture has been offered every frame. */
async function allSeen(capture: Capture, count: number): Promise<void> {
  await seqs(capture, count)
}

const methods: Array<[string, string, CaptureOptions]> = [
  ['ring V3', 'ring', {}],
  ['ring V2', 'ring', { version: 2 }],
  ['int (recv)', 'int', { bufferSize: 16 << 20 }],
]

for (const [name, scheme, options] of methods) {
  privileged(`${name}: a string filter and the equivalent raw program deliver exactly the matching packets`, async (t, ns) => {
    const sent = interleave(FLOWS, 50, ns.mac(A))
    const matching = (test: (s: Sent) => boolean): number[] => sent.filter(test).map((s) => s.seq)
    const all = open(`${scheme}:${A}`, { ...options, netns: ns.name })
    const cases: Array<[string, string | BpfInstruction[], number[]]> = [
      ['udp and dst port 5000 (string)', 'udp and dst port 5000', matching((s) => s.flow.protocol === 'udp' && s.flow.dport === 5000)],
      ['udp and dst port 5000 (raw, tcpdump -dd)', UDP_DST_5000, matching((s) => s.flow.protocol === 'udp' && s.flow.dport === 5000)],
      ['icmp (string)', 'icmp', matching((s) => s.flow.protocol === 'icmp')],
      ['icmp (raw)', ICMP, matching((s) => s.flow.protocol === 'icmp')],
      ['tcp port 5000 (string)', 'tcp port 5000', matching((s) => s.flow.protocol === 'tcp' && (s.flow.sport === 5000 || s.flow.dport === 5000))],
      ['port 5000 (string)', 'port 5000', matching((s) => s.flow.protocol !== 'icmp' && (s.flow.sport === 5000 || s.flow.dport === 5000))],
      ['not ip (string)', 'not ip', []],
    ]
    const captures = cases.map(([, filter]) => open(`${scheme}:${A}`, { ...options, netns: ns.name, filter }))
    const received = captures.map((c, i) => seqs(c, cases[i][2].length))
    const everything = allSeen(all, sent.length)
    await sendFrom(
      ns,
      sent.map((s) => s.frame),
    )
    await everything
    for (const [i, [title, , want]] of cases.entries()) {
      t.deepEqual(await received[i], want, title)
      t.like(captures[i].stats(), { received: want.length, dropped: 0, delivered: want.length }, `${title}: stats`)
      captures[i].close()
    }
    t.like(all.stats(), { received: sent.length, dropped: 0 })
    all.close()
  })

  privileged(`${name}: a filter keeps snaplen bytes and reports the wire length`, async (t, ns) => {
    const capture = open(`${scheme}:${A}`, { ...options, netns: ns.name, snaplen: 40, filter: 'udp' })
    const sent = interleave(FLOWS, 3, ns.mac(A))
    const udp = sent.filter((s) => s.flow.protocol === 'udp')
    const got: Array<[number, number, boolean]> = []
    const loop = (async () => {
      for await (const p of capture) {
        const { frame } = udp[got.length]
        got.push([p.length, p.capturedLength, p.data.equals(frame.subarray(0, 40))])
        if (got.length === udp.length) break
      }
    })()
    await sendFrom(
      ns,
      sent.map((s) => s.frame),
    )
    await loop
    t.deepEqual(
      got,
      udp.map((s) => [s.frame.length, 40, true]),
    )
  })
}

privileged('VLAN tags: Linux takes them off before filters run, so a raw program tests the tag', async (t, ns) => {
  // libpcap compiles `vlan` for a tag inside the frame, as on the wire; the kernel has
  // moved it into the packet's metadata (veth does, like NICs with offload), where only
  // the ancillary loads SKF_AD_VLAN_TAG_PRESENT / SKF_AD_VLAN_TAG see it.
  const mac = ns.mac(A)
  const udp = interleave([FLOWS[0]], 4, mac).map((s) => s.frame)
  const tagged = udp.slice(0, 2).map((f) => Buffer.concat([f.subarray(0, 12), Buffer.from([0x81, 0x00, 0x00, 100]), f.subarray(12)]))
  const VLAN_100: BpfInstruction[] = [
    { code: 0x20, jt: 0, jf: 0, k: -0x1000 + 48 }, // ld vlan_avail (SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT)
    { code: 0x15, jt: 0, jf: 4, k: 1 }, // jeq #1, else drop
    { code: 0x20, jt: 0, jf: 0, k: -0x1000 + 44 }, // ld vlan_tci (SKF_AD_VLAN_TAG)
    { code: 0x54, jt: 0, jf: 0, k: 0xfff }, // and #0xfff: the VLAN id
    { code: 0x15, jt: 0, jf: 1, k: 100 }, // jeq #100
    { code: 0x6, jt: 0, jf: 0, k: 0xffff },
    { code: 0x6, jt: 0, jf: 0, k: 0 },
  ]
  const filters: Array<[string | BpfInstruction[], number]> = [
    ['vlan', 0],
    ['vlan 100 and udp', 0],
    ['udp', 4],
    [VLAN_100, 2],
  ]
  const all = openRing(A, { netns: ns.name })
  const captures = filters.map(([filter]) => openRing(A, { netns: ns.name, filter }))
  const everything = seqs(all, 4)
  await sendFrom(ns, [...tagged, ...udp.slice(2)])
  await everything
  t.deepEqual(
    captures.map((c) => c.stats().received),
    filters.map(([, want]) => want),
  )
  for (const c of [all, ...captures]) c.close()
})

privileged('setFilter() swaps the program on a live capture; null removes it', async (t, ns) => {
  const mac = ns.mac(A)
  const capture = openRing(A, { netns: ns.name, filter: 'udp' })
  const it = capture.batches()
  const next = async (count: number): Promise<number[]> => {
    const got: number[] = []
    while (got.length < count) {
      const { value } = await it.next()
      for (const p of value!) got.push(p.data.length >= 42 && p.data.readUInt16BE(12) === 0x800 ? ipv4SeqOf(p.data) : -1)
    }
    return got
  }
  const first = interleave(FLOWS, 5, mac)
  await sendFrom(
    ns,
    first.map((s) => s.frame),
  )
  t.deepEqual(await next(15), first.filter((s) => s.flow.protocol === 'udp').map((s) => s.seq))

  capture.setFilter(ICMP)
  const second = interleave(FLOWS, 5, mac).map((s) => ({ ...s, seq: s.seq + 1000 }))
  const secondFrames = second.map((s) => {
    const f = Buffer.from(s.frame)
    f.writeUInt32BE(s.seq, f.length - 4) // the payload only: checksums are not checked on capture
    return f
  })
  await sendFrom(ns, secondFrames)
  t.deepEqual(await next(5), second.filter((s) => s.flow.protocol === 'icmp').map((s) => s.seq))

  // A bad program is refused before the kernel sees it, and the old one stays.
  t.throws(() => capture.setFilter([{ code: 0x15, jt: 9, jf: 0, k: 1 }, { code: 6, jt: 0, jf: 0, k: 0 }]), {
    instanceOf: RangeError,
    message: 'filter instruction 0 (jeq #k) jt 9 jumps to instruction 10, past the last instruction 1',
  })
  t.throws(() => capture.setFilter('udp prot 5'), { instanceOf: TypeError, message: /can't parse filter expression: syntax error/ })
  capture.setFilter(null)
  await sendFrom(ns, [frame(7, 64, mac), ...secondFrames.slice(0, 3)])
  t.deepEqual(await next(4), [-1, 1000, 1001, 1002])
  t.like(capture.stats(), { received: 15 + 5 + 4, dropped: 0 })
  capture.close()
  t.throws(() => capture.setFilter('udp'), { message: /ring:nr0 is closed/ })
})

privileged('stats with a filter: an overrun counts matching packets as received or dropped', async (t, ns) => {
  // A V2 ring of 8 frames that nobody reads: every UDP packet is received or dropped,
  // and the rest count nowhere.
  const capture = openRing(A, { netns: ns.name, version: 2, frameCount: 8, filter: 'udp' })
  const sent = interleave(FLOWS, 40, ns.mac(A))
  await sendFrom(
    ns,
    sent.map((s) => s.frame),
  )
  const udp = sent.filter((s) => s.flow.protocol === 'udp').length
  const { received, dropped } = capture.stats()
  t.is(received, 8)
  t.is(received + dropped, udp)
  capture.close()
})

privileged('the filter is in place before the first packet: none slips in during open', async (t, ns) => {
  // Another process floods A while captures open and close here; a capture whose filter
  // rejects everything must never count a packet.
  const mac = ns.mac(A).toString('hex')
  const flood = spawn(
    process.execPath,
    ['-e', `
      const { openTx } = require(${JSON.stringify(join(__dirname, '..'))})
      const tx = openTx('ring:${B}', { netns: ${JSON.stringify(ns.name)} })
      const frame = Buffer.alloc(64)
      Buffer.from('${mac}02000000000288b5', 'hex').copy(frame)
      const burst = Array.from({ length: 64 }, () => frame)
      ;(async () => { console.log('sending'); for (;;) await tx.sendBatch(burst) })()`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  try {
    await once(flood.stdout, 'data')
    const all = openRing(A, { netns: ns.name })
    const reject: BpfInstruction[] = [{ code: 0x6, jt: 0, jf: 0, k: 0 }]
    for (let i = 0; i < 10; i++) {
      for (const [scheme, filter] of [['ring', reject], ['int', reject], ['ring', 'ip'], ['int', 'ip']] as const) {
        const capture = open(`${scheme}:${A}`, { netns: ns.name, filter: filter as string | BpfInstruction[] })
        const { received, dropped } = capture.stats()
        capture.close()
        if (received + dropped !== 0) t.fail(`${scheme} with ${JSON.stringify(filter)} counted ${received} + ${dropped} packets`)
      }
    }
    t.true(all.stats().received > 0, 'traffic was flowing')
    all.close()
  } finally {
    flood.kill()
    await once(flood, 'exit')
  }
})

privileged('without libpcap a string filter says what to install, and raw programs still work', async (t, ns) => {
  const script = `
    const { openRing, compileFilter } = require(${JSON.stringify(join(__dirname, '..'))})
    const out = {}
    try { openRing('nr0', { netns: ${JSON.stringify(ns.name)}, filter: 'udp' }) } catch (e) { out.open = { code: e.code, message: e.message, type: e.constructor.name } }
    try { compileFilter('udp') } catch (e) { out.compile = e.code }
    const raw = openRing('nr0', { netns: ${JSON.stringify(ns.name)}, filter: ${JSON.stringify(ICMP)} })
    out.raw = raw.stats()
    raw.close()
    console.log(JSON.stringify(out))`
  const child = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, NETRING_LIBPCAP: '/nonexistent/libpcap.so.0.8' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk) => (out += chunk))
  await once(child, 'exit')
  const result = JSON.parse(out)
  t.is(result.open.code, 'ERR_NETRING_NO_LIBPCAP')
  t.is(result.open.type, 'Error')
  t.regex(result.open.message, /libpcap, which could not be loaded \(\/nonexistent\/libpcap\.so\.0\.8: .*\); install it \(Debian and Ubuntu: apt-get install libpcap0\.8/)
  t.is(result.compile, 'ERR_NETRING_NO_LIBPCAP')
  t.deepEqual(result.raw, { received: 0, dropped: 0, freezes: 0, delivered: 0 })
})

test('compileFilter() gives what tcpdump -dd prints, with the snaplen in its returns', (t) => {
  t.deepEqual(compileFilter('udp and dst port 5000'), UDP_DST_5000)
  t.deepEqual(compileFilter('icmp'), ICMP)
  const short = compileFilter('udp and dst port 5000', { snaplen: 96 })
  t.deepEqual(short[14], { code: 6, jt: 0, jf: 0, k: 96 })
  t.deepEqual(compileFilter(''), [{ code: 6, jt: 0, jf: 0, k: 262144 }])
})

test('filter expressions libpcap refuses carry its message', (t) => {
  const cases: Array<[string, string]> = [
    ['udp prot 5000', 'filter "udp prot 5000" does not compile: can\'t parse filter expression: syntax error (libpcap)'],
    ['tcp port 99999', 'filter "tcp port 99999" does not compile: illegal port number 99999 > 65535 (libpcap)'],
  ]
  for (const [expression, message] of cases) {
    const viaCompile = t.throws(() => compileFilter(expression), { instanceOf: TypeError, message })
    t.is((viaCompile as NodeJS.ErrnoException).code, 'ERR_INVALID_ARG_VALUE')
    t.throws(() => openRing('nr-none0', { filter: expression }), { instanceOf: TypeError, message })
  }
  t.throws(() => compileFilter('udp', { snaplen: 0 }), { instanceOf: RangeError, message: 'snaplen 0 must be an integer from 1 to 262144' })
  t.throws(() => compileFilter(5 as unknown as string), { instanceOf: TypeError, message: 'expression must be a string, got number' })
})

test('invalid raw programs are rejected before any socket, naming the instruction and the rule', (t) => {
  const ret = { code: 0x6, jt: 0, jf: 0, k: 0xffff }
  const ld = { code: 0x28, jt: 0, jf: 0, k: 12 }
  const cases: Array<[unknown, new (...args: never[]) => Error, string]> = [
    [[], RangeError, 'filter has 0 instructions; a program has 1 to 4096'],
    [Array.from({ length: 4097 }, () => ret), RangeError, 'filter has 4097 instructions; a program has 1 to 4096'],
    [[ld, { code: 0x15, jt: 0, jf: 5, k: 0x800 }, ret, ret], RangeError, 'filter instruction 1 (jeq #k) jf 5 jumps to instruction 7, past the last instruction 3'],
    [[{ code: 0x05, jt: 0, jf: 0, k: 3 }, ret], RangeError, 'filter instruction 0 (ja k) jumps 3 ahead to instruction 4, past the last instruction 1'],
    [[ld, { code: 0x99, jt: 0, jf: 0, k: 0 }, ret], TypeError, 'filter instruction 1: unknown opcode 0x99'],
    [[ret, ld], TypeError, 'filter instruction 1 (ldh [k]) is last and must be a return (ret #k or ret a)'],
    [[{ code: 0x34, jt: 0, jf: 0, k: 0 }, ret], RangeError, 'filter instruction 0 (div #k) divides by a constant 0'],
    [[{ code: 0x02, jt: 0, jf: 0, k: 16 }, ret], RangeError, 'filter instruction 0 (st M[k]) uses scratch slot M[16]'],
    [[{ ...ret, jt: 256 }], RangeError, 'filter[0].jt 256 must be an integer from 0 to 255'],
    [[{ ...ret, code: 0x10000 }], RangeError, 'filter[0].code 65536 must be an integer from 0 to 65535'],
    [[{ ...ret, k: 2 ** 32 }], RangeError, 'filter[0].k 4294967296 must be an integer from -2147483648 to 4294967295'],
    [[{ code: 6, jt: 0, jf: 0 }], TypeError, 'filter[0].k must be a number, got undefined'],
    [[null], TypeError, 'filter[0] must be an object { code, jt, jf, k }, got null'],
    [42, TypeError, 'option filter must be a string (tcpdump syntax) or an array of { code, jt, jf, k }, got number'],
  ]
  for (const [filter, type, message] of cases) {
    for (const uri of ['ring:nr-none0', 'int:nr-none0']) {
      const error = t.throws(() => open(uri, { filter } as CaptureOptions), { instanceOf: type })
      t.true(error!.message.startsWith(message), `${error!.message} should start with ${message}`)
    }
  }
  // A negative k stands for its two's complement: SKF_AD_OFF + SKF_AD_PROTOCOL loads the protocol.
  const error = t.throws(() => openRing('nr-none0', { filter: [{ code: 0x28, jt: 0, jf: 0, k: -0x1000 }, ret] }))
  t.is((error as NodeJS.ErrnoException).code, 'ENODEV', 'the program passed; the interface does not exist')
})
