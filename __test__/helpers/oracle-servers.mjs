// Servers for the decode oracle (__test__/decode.spec.ts), run inside a test namespace:
//   ip netns exec NS node oracle-servers.mjs 10.x.y.1 fd00:x::1
// On both addresses: a TCP server on 8080 that answers "hi" and closes, a UDP echo on 7777,
// and a DNS server on port 53 (UDP, and TCP for answers too big for UDP) that answers the
// names of ZONE below with real DNS responses (RFC 1035 §4, RFC 3596 AAAA, RFC 2782 SRV),
// names compressed (§4.1.4). Prints "ready" once everything listens; exits on SIGTERM.
import dgram from 'node:dgram'
import net from 'node:net'

const [v4, v6] = process.argv.slice(2)

/** Wire form of a name: 'a.b' → 1 'a' 1 'b' 0. */
function name(text) {
  const parts = text.split('.').filter((l) => l !== '')
  return Buffer.concat([...parts.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]), Buffer.from([0])])
}

function u16(n) {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

const A = 1
const CNAME = 5
const MX = 15
const TXT = 16
const AAAA = 28
const SRV = 33

/** What the zone answers: name → type → [rdata builder]. A CNAME is followed by its target's A. */
const ZONE = {
  'a.example.test': { [A]: [Buffer.from([10, 7, 0, 1]), Buffer.from([192, 0, 2, 7])] },
  'aaaa.example.test': { [AAAA]: [Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.from('fe800000000000000000000000000abc', 'hex')] },
  'mx.example.test': { [MX]: [Buffer.concat([u16(10), name('mail.example.test')]), Buffer.concat([u16(20), name('mail2.example.test')])] },
  'txt.example.test': { [TXT]: [Buffer.concat([Buffer.from([5]), Buffer.from('hello'), Buffer.from([5]), Buffer.from('world')])] },
  '_sip._udp.example.test': { [SRV]: [Buffer.concat([u16(0), u16(5), u16(5060), name('sip.example.test')])] },
  'www.example.test': { [CNAME]: [name('a.example.test')] },
  // More than 512 bytes of TXT: over UDP the answer is truncated (TC), and the client asks again over TCP.
  'big.example.test': { [TXT]: Array.from({ length: 6 }, (_, i) => Buffer.concat([Buffer.from([120]), Buffer.alloc(120, 0x61 + i)])) },
}

/** Reads the question of a query: id, flags, qname (uncompressed, as queries are), qtype, end offset. */
function parseQuery(msg) {
  let off = 12
  const labels = []
  while (off < msg.length && msg[off] !== 0) {
    labels.push(msg.subarray(off + 1, off + 1 + msg[off]).toString('latin1'))
    off += 1 + msg[off]
  }
  off += 1
  return { id: msg.readUInt16BE(0), flags: msg.readUInt16BE(2), qname: labels.join('.').toLowerCase(), qtype: msg.readUInt16BE(off), end: off + 4 }
}

function rr(ptr, type, ttl, rdata) {
  const fixed = Buffer.alloc(10)
  fixed.writeUInt16BE(type, 0)
  fixed.writeUInt16BE(1, 2)
  fixed.writeUInt32BE(ttl, 4)
  fixed.writeUInt16BE(rdata.length, 8)
  return Buffer.concat([ptr, fixed, rdata])
}

/** The response to `query`; over UDP an answer over 512 bytes is cut to the question with TC set. */
function respond(query, udp) {
  const q = parseQuery(query)
  const entry = ZONE[q.qname]
  const answers = []
  const toQname = Buffer.from([0xc0, 12])
  if (entry?.[q.qtype]) for (const rdata of entry[q.qtype]) answers.push(rr(toQname, q.qtype, 300, rdata))
  else if (entry?.[CNAME]) {
    const target = entry[CNAME][0]
    answers.push(rr(toQname, CNAME, 60, target))
    // The CNAME's rdata starts at 12 + question + 12 (name pointer + fixed part): point at it.
    const targetOffset = q.end + 12
    const targetEntry = ZONE['a.example.test']
    for (const rdata of targetEntry[A]) answers.push(rr(Buffer.from([0xc0 | (targetOffset >> 8), targetOffset & 0xff]), A, 300, rdata))
  }
  const rcode = entry === undefined ? 3 : 0
  const head = Buffer.alloc(12)
  head.writeUInt16BE(q.id, 0)
  // QR, opcode 0, AA, RD copied, RA, rcode.
  head.writeUInt16BE(0x8400 | (q.flags & 0x0100) | 0x0080 | rcode, 2)
  head.writeUInt16BE(1, 4)
  const question = query.subarray(12, q.end)
  let body = Buffer.concat(answers)
  let flagsTc = 0
  if (udp && 12 + question.length + body.length > 512) {
    body = Buffer.alloc(0)
    answers.length = 0
    flagsTc = 0x0200
  }
  head.writeUInt16BE(head.readUInt16BE(2) | flagsTc, 2)
  head.writeUInt16BE(answers.length, 6)
  return Buffer.concat([head, question, body])
}

const closers = []
let pending = 0
const listening = () => {
  if (--pending === 0) console.log('ready')
}

for (const [host, type] of [
  [v4, 'udp4'],
  [v6, 'udp6'],
]) {
  const dns = dgram.createSocket(type)
  dns.on('message', (msg, rinfo) => dns.send(respond(msg, true), rinfo.port, rinfo.address))
  pending++
  dns.bind(53, host, listening)
  const echo = dgram.createSocket(type)
  echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address))
  pending++
  echo.bind(7777, host, listening)
  closers.push(dns, echo)
}

for (const host of [v4, v6]) {
  const hi = net.createServer((s) => s.end('hi'))
  pending++
  hi.listen(8080, host, listening)
  const dnsTcp = net.createServer((s) => {
    let buf = Buffer.alloc(0)
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const query = buf.subarray(2, 2 + buf.readUInt16BE(0))
        buf = buf.subarray(2 + query.length)
        const answer = respond(query, false)
        s.write(Buffer.concat([u16(answer.length), answer]))
      }
    })
    s.on('error', () => {})
  })
  pending++
  dnsTcp.listen(53, host, listening)
  closers.push(hi, dnsTcp)
}

process.on('SIGTERM', () => {
  for (const c of closers) c.close()
  process.exit(0)
})
