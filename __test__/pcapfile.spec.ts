import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { open, openTx, record, type Packet } from 'netring'
import { A, B, frame, privileged, seqOf, type Netns } from './helpers/netns'

const dir = mkdtempSync(join(tmpdir(), 'netring-pcapfile-'))

/**
 * A classic pcap file built byte by byte from the format (little-endian, microseconds,
 * link type 1): a 24-byte file header, then a 16-byte record header per packet
 * (ts_sec, ts_usec, incl_len, orig_len). Packet i is frame(i, 60 + i), its first
 * `caplen(i)` bytes kept, stamped 1700000000 + i s and i * 1000 + 7 µs.
 */
function pcapFixture(count: number, caplen = (i: number) => 60 + i): Buffer {
  const parts: Buffer[] = [Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex')]
  for (let i = 0; i < count; i++) {
    const f = frame(i, 60 + i).subarray(0, caplen(i))
    const h = Buffer.alloc(16)
    h.writeUInt32LE(1_700_000_000 + i, 0)
    h.writeUInt32LE(i * 1000 + 7, 4)
    h.writeUInt32LE(f.length, 8)
    h.writeUInt32LE(60 + i, 12)
    parts.push(h, f)
  }
  return Buffer.concat(parts)
}

async function readAll(path: string): Promise<{ packets: Packet[]; error?: Error & { code?: string } }> {
  const packets: Packet[] = []
  try {
    for await (const p of open(`pcapfile:${path}`)) packets.push(p.copy())
  } catch (error) {
    return { packets, error: error as Error }
  }
  return { packets }
}

test('pcapfile: yields the same Packet shape as a live capture', async (t) => {
  const path = join(dir, 'fixture.pcap')
  writeFileSync(path, pcapFixture(5, (i) => (i === 3 ? 20 : 60 + i)))
  const capture = open(`pcapfile:${path}`)
  const { packets } = await readAll(path)
  t.is(packets.length, 5)
  packets.forEach((p, i) => {
    t.is(p.length, 60 + i)
    t.is(p.capturedLength, i === 3 ? 20 : 60 + i)
    t.is(seqOf(p.data), i)
    t.is(p.timestamp, BigInt(1_700_000_000 + i) * 1_000_000_000n + BigInt((i * 1000 + 7) * 1000))
    t.is(p.ifindex, 0)
    t.is(p.direction, 'incoming')
  })
  let n = 0
  for await (const _ of capture) n++
  t.is(n, 5)
  t.is(capture.stats().received, 5)
  t.true(capture.closed)
})

test('pcapfile: a truncated record is reported with packet number and offset after the good packets', async (t) => {
  const path = join(dir, 'truncated.pcap')
  const whole = pcapFixture(3)
  // Records at 24, 24+16+60 = 100, 100+16+61 = 177; cut the third in its data.
  writeFileSync(path, whole.subarray(0, 177 + 16 + 10))
  const { packets, error } = await readAll(path)
  t.is(packets.length, 2)
  t.is(error?.code, 'ERR_NETRING_BAD_FILE')
  t.regex(error!.message, /byte offset 177 \(packet 3\).*truncated/)
})

test('pcapfile: an absurd caplen is reported, never read as a huge allocation', async (t) => {
  const path = join(dir, 'caplen.pcap')
  const bytes = pcapFixture(3)
  bytes.writeUInt32LE(0x7fff_ffff, 100 + 8)
  writeFileSync(path, bytes)
  const { packets, error } = await readAll(path)
  t.is(packets.length, 1)
  t.regex(error!.message, /byte offset 100 \(packet 2\)/)
})

test('pcapfile: a truncated file header, a non-capture file and a missing file are named', (t) => {
  const short = join(dir, 'short.pcap')
  writeFileSync(short, pcapFixture(0).subarray(0, 10))
  t.throws(() => open(`pcapfile:${short}`), { message: /short\.pcap" is damaged at byte offset 0.*header is truncated \(10 bytes\)/ })
  const text = join(dir, 'text.pcap')
  writeFileSync(text, 'this is no capture file, just some text')
  t.throws(() => open(`pcapfile:${text}`), { message: /not a pcap or pcapng file/ })
  t.throws(() => open(`pcapfile:${join(dir, 'missing.pcap')}`), { code: 'ENOENT', message: /missing\.pcap/ })
  t.throws(() => open(`pcapfile:${short}`, { snaplen: 64 }), { instanceOf: TypeError, message: /takes no options but filter and signal; got snaplen/ })
})

test('pcapfile: a filter keeps what tcpdump keeps with it, across batches it empties; a bad one is named', async (t) => {
  // 3000 packets in three read batches; the filter keeps only some of the last batch's.
  const path = join(dir, 'filtered.pcap')
  writeFileSync(path, pcapFixture(3000, (i) => 60 + (i % 7)))
  for (const [filter, seen] of [
    ['greater 65 and len < 66', 'len 65'],
    ['ether[14:4] >= 2990', 'seq >= 2990'],
  ] as const) {
    const expected = Number(/^(\d+) packets?/m.exec(tcpdump('--count', '-r', path, filter))?.[1])
    let n = 0
    for await (const p of open(`pcapfile:${path}`, { filter })) {
      n++
      t.true(p.length === 65 || seen !== 'len 65', `${seen}: a ${p.length}-byte packet got through`)
    }
    t.true(expected > 0, `tcpdump keeps some packets with ${filter}`)
    t.is(n, expected, filter)
  }
  t.throws(() => open(`pcapfile:${path}`, { filter: 'udp prot 53' }), { message: /filter "udp prot 53" does not compile/ })
})

test('record: an unwritable path fails before the capture starts', (t) => {
  const input = join(dir, 'in.pcap')
  writeFileSync(input, pcapFixture(2))
  t.throws(() => record(`pcapfile:${input}`, { write: '/nonexistent-dir/out.pcap' }), { code: 'ENOENT', message: /nonexistent-dir\/out\.pcap/ })
})

function tcpdump(...args: string[]): string {
  return execFileSync('tcpdump', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Packets and bytes (captured) as `tcpdump -r FILE -nn -xx` prints them. */
function tcpdumpCount(path: string): { packets: number; bytes: number } {
  const text = tcpdump('-r', path, '-nn', '-xx')
  let packets = 0
  let bytes = 0
  for (const line of text.split('\n')) {
    const hex = /^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4}\s?)+)/.exec(line)
    if (hex !== null) bytes += hex[1].replace(/\s/g, '').length / 2
    else if (line.trim() !== '') packets++
  }
  return { packets, bytes }
}

async function recordFrames(ns: Netns, path: string, frames: Buffer[], format?: 'pcap' | 'pcap-ns' | 'pcapng'): Promise<void> {
  const recorder = record(`ring:${A}`, { netns: ns.name, write: path, format, count: frames.length })
  const tx = openTx(`int:${B}`, { netns: ns.name })
  await tx.sendBatch(frames)
  await tx.close()
  while (!recorder.progress().done) await new Promise((resolve) => setTimeout(resolve, 10))
  const done = recorder.stop()
  if (done.packets !== frames.length) throw new Error(`recorded ${done.packets} of ${frames.length}`)
}

privileged('record({ packetBuffered }) has written each batch by the time progress() counts it', async (t, ns) => {
  const path = join(dir, 'buffered.pcap')
  const recorder = record(`ring:${A}`, { netns: ns.name, write: path, packetBuffered: true })
  try {
    const tx = openTx(`int:${B}`, { netns: ns.name })
    await tx.sendBatch(Array.from({ length: 5 }, (_, i) => frame(i, 100)))
    await tx.close()
    // Not a timing assertion: the recorder writes a batch, then counts it. Unbuffered,
    // the file would hold only its header until the 64 KiB buffer or the 1 s flush.
    while (recorder.progress().packets < 5) await new Promise((resolve) => setTimeout(resolve, 5))
    t.deepEqual(tcpdumpCount(path), { packets: 5, bytes: 500 })
  } finally {
    recorder.stop()
  }
})

privileged('record → pcapng names the interface and ends with the statistics block dumpcap writes', async (t, ns) => {
  const path = join(dir, 'stats.pcapng')
  await recordFrames(ns, path, Array.from({ length: 20 }, (_, i) => frame(i, 80)))
  const names = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.interface_name'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  t.deepEqual([...new Set(names.trim().split('\n'))], [A])
  const info = execFileSync('capinfos', [path], { encoding: 'utf8' })
  t.regex(info, /Number of stat entries = 1/)
  t.regex(info, /Name = nr0/)
})

for (const [name, format] of [
  ['recorder.pcap', undefined],
  ['recorder-ns.pcap', 'pcap-ns'],
  ['recorder.pcapng', undefined],
] as const) {
  privileged(`record → ${name}: tcpdump -r reads back every packet and byte; netring reads it back too`, async (t, ns) => {
    const frames = Array.from({ length: 100 }, (_, i) => frame(i, 60 + (i % 40)))
    const bytes = frames.reduce((sum, f) => sum + f.length, 0)
    const path = join(dir, name)
    await recordFrames(ns, path, frames, format)
    t.deepEqual(tcpdumpCount(path), { packets: 100, bytes })
    const { packets, error } = await readAll(path)
    t.is(error, undefined)
    t.deepEqual(
      packets.map((p) => seqOf(p.data)),
      frames.map((_, i) => i),
    )
    t.is(packets.reduce((sum, p) => sum + p.length, 0), bytes)
  })
}

privileged('files written by tcpdump (pcap µs and ns) are read with exact count and bytes', async (t, ns) => {
  const frames = Array.from({ length: 64 }, (_, i) => frame(i, 64 + i))
  const bytes = frames.reduce((sum, f) => sum + f.length, 0)
  const ours = join(dir, 'ours.pcapng')
  await recordFrames(ns, ours, frames)
  for (const precision of ['micro', 'nano']) {
    const theirs = join(dir, `tcpdump-${precision}.pcap`)
    tcpdump('-r', ours, '--time-stamp-precision', precision, '-w', theirs)
    t.is(readFileSync(theirs).readUInt32LE(0), precision === 'nano' ? 0xa1b23c4d : 0xa1b2c3d4)
    const { packets, error } = await readAll(theirs)
    t.is(error, undefined)
    t.is(packets.length, 64)
    t.is(packets.reduce((sum, p) => sum + p.capturedLength, 0), bytes)
    t.deepEqual(
      packets.map((p) => seqOf(p.data)),
      frames.map((_, i) => i),
    )
  }
})
