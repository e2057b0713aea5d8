/**
 * The examples a user copies from, each run as a user runs it (`node --import tsx
 * examples/NAME.ts`) in its demo mode, which makes its own throwaway namespaces: what
 * each prints must show it did its job. Afterwards no namespace of the run is left.
 */
import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'

import { privilegedProcess } from './helpers/netns'

function run(example: string, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'examples', `${example}.ts`), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, pid: child.pid! })
    })
  })
}

/** The namespaces the example made (named after its pid) are gone. */
function leftovers(pid: number): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`-${pid}`))
}

privilegedProcess('dns-logger logs each built query and response with its answers', async (t) => {
  const r = await run('dns-logger', ['--seconds', '1'])
  t.is(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  t.is(lines.length, 6, r.stdout)
  t.regex(lines[0], /^\d\d:\d\d:\d\d\.\d{3} 10\.0\.0\.1:40000 > 10\.0\.0\.53:53 query 0x0100 A example\.com$/)
  t.regex(lines[1], / 10\.0\.0\.53:53 > 10\.0\.0\.1:40000 response 0x0100 A example\.com -> A 192\.0\.2\.1$/)
  t.regex(lines[5], /response 0x0102 A nodejs\.org -> A 192\.0\.2\.3$/)
  t.deepEqual(leftovers(r.pid), [])
})

privilegedProcess('bandwidth-top ranks the three senders by their rates (8 : 4 : 1)', async (t) => {
  const r = await run('bandwidth-top', ['--seconds', '3'])
  t.is(r.code, 0, r.stderr)
  const tables = r.stdout.trim().split('\n\n')
  t.true(tables.length >= 2, r.stdout)
  // The last full second: three rows in order, rates about 8 : 4 : 1.
  const rows = tables[tables.length - 1].split('\n').slice(1).map((l) => l.split(/\s+/))
  t.deepEqual(rows.map((row) => row[0]), ['10.0.0.1', '10.0.0.2', '10.0.0.3'])
  const pps = rows.map((row) => Number(row[2]))
  t.true(pps[2] > 0)
  t.true(Math.abs(pps[0] / pps[2] - 8) < 1, `rates ${pps}`)
  t.true(Math.abs(pps[1] / pps[2] - 4) < 0.5, `rates ${pps}`)
  t.deepEqual(leftovers(r.pid), [])
})

privilegedProcess('arp-scan finds exactly the peer addresses of the subnet, with the peer MAC', async (t) => {
  const r = await run('arp-scan')
  t.is(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  const hosts = lines.slice(0, -1).map((l) => l.split(/\s+/))
  t.deepEqual(hosts.map((h) => h[0]), ['10.89.0.2', '10.89.0.7', '10.89.0.42'])
  t.is(new Set(hosts.map((h) => h[1])).size, 1)
  t.regex(hosts[0][1], /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
  t.regex(lines[lines.length - 1], /^3 hosts answered in \d+\.\d s$/)
  t.deepEqual(leftovers(r.pid), [])
})

privilegedProcess('udp-loadgen sends at the rate asked and the peer receives every frame', async (t) => {
  const r = await run('udp-loadgen', ['--seconds', '2', '--pps', '20000'])
  t.is(r.code, 0, r.stderr)
  const m = /sent ([\d,]+) frames; the peer's nr0 received ([\d,]+)/.exec(r.stdout)
  t.truthy(m, r.stdout)
  const sent = Number(m![1].replace(/,/g, ''))
  const received = Number(m![2].replace(/,/g, ''))
  t.true(sent >= 35_000 && sent <= 45_000, `sent ${sent} in 2 s at 20 000/s`)
  // The peer's counter also counts its neighbour traffic: a few frames more, none fewer.
  t.true(received >= sent && received <= sent + 20, `received ${received} of ${sent}`)
  t.deepEqual(leftovers(r.pid), [])
})
