/**
 * How netring sits in a Node process: idle captures hold no libuv pool thread, both
 * module systems load it, and its declarations have no `any`.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'

import { openRing } from 'netring'
import { A, privileged } from './helpers/netns'

const root = join(__dirname, '..')

privileged('eight idle captures leave the thread pool and the event loop free', async (t, ns) => {
  const captures = Array.from({ length: 8 }, () => openRing(A, { netns: ns.name }))
  const loops = captures.map(async (capture) => {
    for await (const _ of capture) t.fail('no traffic was sent')
  })
  // libuv's pool has 4 threads: if waiting for packets took pool threads, these reads
  // would queue behind eight waits that never end.
  let timeout: NodeJS.Timeout | undefined
  const stuck = new Promise((_, reject) => {
    timeout = setTimeout(() => reject(new Error('fs calls did not complete while captures waited')), 60_000)
  })
  const reads = Promise.all(Array.from({ length: 32 }, () => readFile(__filename)))
  const files = (await Promise.race([reads, stuck])) as Buffer[]
  clearTimeout(timeout)
  t.is(files.length, 32)
  let ticks = 0
  await new Promise<void>((resolve) => {
    const step = (): void => void (++ticks === 100 ? resolve() : setImmediate(step))
    setImmediate(step)
  })
  t.is(ticks, 100)
  for (const capture of captures) capture.close()
  await Promise.all(loops)
})

test('require("netring") and import("netring") both load the API', (t) => {
  const names = ['Batch', 'Capture', 'Packet', 'SCHEMES', 'open', 'openRing', 'openTx']
  const cjs = execFileSync(process.execPath, ['-e', 'console.log(Object.keys(require("netring")).sort().join())'], {
    cwd: root,
    encoding: 'utf8',
  })
  const esm = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', 'import * as n from "netring"; console.log(Object.keys(n).filter((k) => k !== "default").sort().join())'],
    { cwd: root, encoding: 'utf8' },
  )
  for (const name of names) {
    t.true(cjs.split(',').map((s) => s.trim()).includes(name), `require: ${name} in ${cjs}`)
    t.true(esm.split(',').map((s) => s.trim()).includes(name), `import: ${name} in ${esm}`)
  }
})

test('the declarations name every type (no any)', (t) => {
  const dist = join(root, 'dist')
  const files = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.d.ts'))
  t.true(files.includes('index.d.ts') && files.includes('binding.d.ts'), files.join())
  for (const file of files) {
    // Declarations only: the doc comments are prose ("before any system call").
    const code = readFileSync(join(dist, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
    t.notRegex(code, /\bany\b/, `${file} declares an any`)
  }
})
