/**
 * The floor of any `for await` loop: the same loop rx-reader.ts runs, over an async
 * iterator that hands out pre-made objects (`Promise.resolve({ done, value })`, no capture,
 * no I/O). What a capture's `for await` costs above this is its own. Prints one JSON line:
 * iterations and CPU time.
 *
 *   node --import tsx benchmark/floor.ts [ITERATIONS]
 */
const iterations = Number(process.argv[2] ?? 20_000_000)
const objects = Array.from({ length: 1024 }, (_, i) => ({ length: 60 + (i & 63) }))

/** `count` pre-made objects through the cheapest async iterator there is. */
export function source(count: number): AsyncIterable<{ length: number }> {
  let i = 0
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => (i < count ? Promise.resolve({ done: false, value: objects[i++ & 1023] }) : Promise.resolve({ done: true, value: undefined })),
    }),
  }
}

async function main(): Promise<void> {
  // Warm up the loop first, as a capture's runs are long enough to be optimized.
  for await (const _ of source(1_000_000)) void _
  const cpu0 = process.cpuUsage()
  let packets = 0
  let bytes = 0
  for await (const p of source(iterations)) {
    packets++
    bytes += p.length
  }
  const cpu = process.cpuUsage(cpu0)
  console.log(JSON.stringify({ packets, bytes, cpuUs: cpu.user + cpu.system }))
}

// Run, unless imported for source() (benchmark/file-loop.ts).
if (require.main === module) void main()
