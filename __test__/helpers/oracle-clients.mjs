// Clients for the decode oracle (__test__/decode.spec.ts), run inside the peer namespace:
//   ip netns exec NS node oracle-clients.mjs 10.x.y.1 fd00:x::1 [closed-udp-port]
// Against oracle-servers.mjs: TCP to 8080 (v4, v6) sends "hello", reads "hi"; UDP to the
// echo on 7777 (v4, v6); a TCP connection and a UDP datagram to a closed port (the kernel
// answers RST, and ICMP port unreachable); DNS queries through node's resolver (c-ares) for A, AAAA, MX, TXT, SRV,
// a CNAME, a name that does not exist and a TXT answer too big for UDP (asked again over
// TCP). Prints a JSON line of what it got and exits 0, or the error and exits 1.
import dgram from 'node:dgram'
import { Resolver } from 'node:dns/promises'
import net from 'node:net'

const [v4, v6, closed = '9'] = process.argv.slice(2)

function tcp(host) {
  return new Promise((resolve, reject) => {
    const chunks = []
    const s = net.connect(8080, host, () => s.end('hello'))
    s.on('data', (d) => chunks.push(d))
    s.on('end', () => resolve(Buffer.concat(chunks).toString()))
    s.on('error', reject)
  })
}

/** A connection to a closed port: the kernel answers the SYN with RST. */
function refused(host) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(closed), host, () => reject(new Error(`port ${closed} on ${host} is open`)))
    s.on('error', (e) => (e.code === 'ECONNREFUSED' ? resolve(e.code) : reject(e)))
  })
}

function udpEcho(type, host) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(type)
    const timer = setTimeout(() => {
      s.close()
      reject(new Error(`no UDP echo from ${host}`))
    }, 3000)
    s.on('message', (msg) => {
      clearTimeout(timer)
      s.close()
      resolve(msg.toString())
    })
    s.send(Buffer.from(`echo ${host}`), 7777, host)
  })
}

function udpClosed(type, host) {
  return new Promise((resolve) => {
    const s = dgram.createSocket(type)
    s.send(Buffer.from('nobody listens'), Number(closed), host, () => setTimeout(() => (s.close(), resolve()), 50))
  })
}

async function main() {
  const out = {}
  out.tcp4 = await tcp(v4)
  out.tcp6 = await tcp(v6)
  out.refused4 = await refused(v4)
  out.refused6 = await refused(v6)
  out.udp4 = await udpEcho('udp4', v4)
  out.udp6 = await udpEcho('udp6', v6)
  await udpClosed('udp4', v4)
  await udpClosed('udp6', v6)
  for (const server of [v4, v6]) {
    const r = new Resolver({ timeout: 2000, tries: 2 })
    r.setServers([server.includes(':') ? `[${server}]` : server])
    const key = server.includes(':') ? 'dns6' : 'dns4'
    out[key] = {
      a: await r.resolve4('a.example.test'),
      aaaa: await r.resolve6('aaaa.example.test'),
      mx: await r.resolveMx('mx.example.test'),
      txt: await r.resolveTxt('txt.example.test'),
      srv: await r.resolveSrv('_sip._udp.example.test'),
      cname: await r.resolveCname('www.example.test'),
      viaCname: await r.resolve4('www.example.test'),
      nx: await r.resolve4('nx.example.test').catch((e) => e.code),
    }
    if (server === v4) out.dns4.big = (await r.resolveTxt('big.example.test')).length
  }
  console.log(JSON.stringify(out))
}

main().catch((error) => {
  console.error(error?.stack ?? error)
  process.exit(1)
})
