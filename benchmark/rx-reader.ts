/**
 * One RX reader for study.ts, run inside the benchmark's namespace and pinned to one CPU:
 * counts what arrives on nr0 until SIGTERM, then prints one JSON line with its count, the
 * capture's kernel statistics and its own CPU time.
 *
 *   node --import tsx benchmark/rx-reader.ts int|ring-packet|ring-batch [JSON capture options]
 */
import { open, type CaptureOptions } from '..'

const mode = process.argv[2]
const options = JSON.parse(process.argv[3] ?? '{}') as CaptureOptions
if (!['int', 'ring-packet', 'ring-batch'].includes(mode)) {
  console.error('usage: rx-reader.ts int|ring-packet|ring-batch [JSON capture options]')
  process.exit(2)
}

const capture = open(`${mode === 'int' ? 'int' : 'ring'}:nr0`, options)
let packets = 0
let bytes = 0
process.on('SIGTERM', () => capture.close())
console.error('ready') // the socket is bound: study.ts starts the generator

async function main(): Promise<void> {
  const cpu0 = process.cpuUsage()
  if (mode === 'ring-batch') {
    for await (const batch of capture.batches()) {
      packets += batch.length
      for (const p of batch) bytes += p.length
    }
  } else {
    // One packet at a time, as a user's `for await` loop would (int: too).
    for await (const p of capture) {
      packets++
      bytes += p.length
    }
  }
  const cpu = process.cpuUsage(cpu0)
  const stats = capture.stats()
  console.log(JSON.stringify({ packets, bytes, received: stats.received, dropped: stats.dropped, cpuUs: cpu.user + cpu.system }))
}
void main()
