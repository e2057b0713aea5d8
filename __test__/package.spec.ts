/**
 * What `npm install netring` gives a user: both packages packed as they would be published
 * (the root with the optionalDependencies `napi pre-publish` adds), installed offline into
 * an empty project on a PATH with no cargo, rustc, cc or gcc, then loaded, type-checked and
 * (privileged) used. Also the ELF of the packed .node: its glibc floor and its libraries.
 */
import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { parseTriple } from '@napi-rs/cli'
import test from 'ava'

import { A, B, frame, privileged } from './helpers/netns'

const root = join(__dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  version: string
  engines: { node: string }
  files: string[]
  napi: { binaryName: string; targets: string[] }
}
const platforms = pkg.napi.targets.map((triple) => parseTriple(triple).platformArchABI)
/** The platform package this machine installs and the test packs: linux-x64-gnu here. */
const here = require(join(root, 'dist', 'src', 'loader.js')).currentPlatform() as string

/** No GLIBC_ symbol version above this: the sysroot of napi-rs's cross toolchain (CentOS 7). */
const GLIBC_FLOOR = '2.17'
/**
 * Libraries the .node may need: glibc's own (libc, libm, libdl, libpthread; librt, where
 * Rust's std finds clock_gettime in glibc 2.17; the dynamic loader, which defines
 * __tls_get_addr), musl's libc, and libgcc_s (unwinding). libpcap is opened at run time.
 */
const ALLOWED_NEEDED = /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12]|libc\.so|libc\.musl-\w+\.so\.1|libgcc_s\.so\.1)$/

/** Tools whose absence the install must survive: Rust and every C compiler or linker. */
const FORBIDDEN = /^(cargo|rustc|rustup|rustdoc|cc|c89|c99|c\+\+|gcc|g\+\+|cpp|clang|clang\+\+|ld|ld\.\w+)(-[\d.]+)?$|-(gcc|g\+\+|cc|c\+\+|cpp|ld)(-[\d.]+)?$/

/**
 * A PATH like ours without the FORBIDDEN tools: each directory that holds one is replaced by
 * a directory of links to everything else in it (node and npm live in /usr/bin beside gcc).
 */
function strippedPath(into: string): string {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir && existsSync(dir))
    .map((dir, i) => {
      const names = readdirSync(dir)
      if (!names.some((name) => FORBIDDEN.test(name))) return dir
      const shim = join(into, `path-${i}`)
      mkdirSync(shim)
      for (const name of names) if (!FORBIDDEN.test(name)) symlinkSync(join(dir, name), join(shim, name))
      return shim
    })
    .join(delimiter)
}

interface Installed {
  dir: string
  env: NodeJS.ProcessEnv
  tarballs: Record<string, string[]>
  node: string
}

/** Packs both packages and installs them into an empty project; once per run. */
function install(): Installed {
  const tmp = mkdtempSync(join(tmpdir(), 'netring-package-'))
  process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
  const stage = join(tmp, 'stage')
  const run = (cmd: string, args: string[], options: SpawnSyncOptions = {}): string => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', ...options })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.error ?? ''}${r.stderr}${r.stdout}`)
    return r.stdout as string
  }

  // The root package as `npm publish` would pack it after `napi pre-publish -t npm`, which
  // adds one optional dependency per target: the same files, one more package.json field.
  const files = JSON.parse(run('npm', ['pack', '--dry-run', '--json'], { cwd: root }))[0].files.map((f: { path: string }) => f.path) as string[]
  const main = join(stage, pkg.name)
  mkdirSync(main, { recursive: true })
  for (const file of files) cpSync(join(root, file), join(main, file))
  const optionalDependencies = Object.fromEntries(platforms.map((p) => [`${pkg.name}-${p}`, pkg.version]))
  writeFileSync(join(main, 'package.json'), JSON.stringify({ ...pkg, optionalDependencies }, null, 2))

  // The platform package as `napi artifacts` fills it: npm/<platform> plus the built .node.
  const platform = join(stage, `${pkg.name}-${here}`)
  cpSync(join(root, 'npm', here), platform, { recursive: true })
  const node = `${pkg.napi.binaryName}.${here}.node`
  cpSync(join(root, 'dist', node), join(platform, node))

  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp, main, platform], { cwd: tmp })) as Array<{
    name: string
    filename: string
    files: Array<{ path: string }>
  }>
  const tarballs = Object.fromEntries(packed.map((p) => [p.name, p.files.map((f) => f.path).sort()]))

  // Offline, with an empty npm cache: nothing can come from a registry or a compiler.
  const dir = join(tmp, 'app')
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true }))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: strippedPath(tmp),
    npm_config_offline: 'true',
    npm_config_cache: join(tmp, 'npm-cache'),
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  }
  for (const key of Object.keys(env)) if (/^(CARGO|RUSTUP|RUSTC|CC|CXX)(_|$)/.test(key)) delete env[key]
  const tgz = packed.map((p) => join(tmp, p.filename))
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tgz], { cwd: dir, env })
  return { dir, env, tarballs, node: join(dir, 'node_modules', `${pkg.name}-${here}`, node) }
}

let installed: Installed | undefined
const setup = (): Installed => (installed ??= install())

/** Runs node in the installed project, as the user would. */
function nodeIn(app: Installed, args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: app.dir, env: app.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function versionOrder(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number))
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
  return 0
}

test('napi.targets, the loader and npm/ name the same platform packages', (t) => {
  t.deepEqual(require(join(root, 'dist', 'src', 'loader.js')).SUPPORTED_PLATFORMS, platforms)
  t.deepEqual(readdirSync(join(root, 'npm')).sort(), [...platforms].sort())
  for (const target of pkg.napi.targets) {
    const { platformArchABI, arch, abi } = parseTriple(target)
    const node = `${pkg.napi.binaryName}.${platformArchABI}.node`
    const sub = JSON.parse(readFileSync(join(root, 'npm', platformArchABI, 'package.json'), 'utf8'))
    t.like(sub, { name: `${pkg.name}-${platformArchABI}`, version: pkg.version, main: node, files: [node], os: ['linux'], cpu: [arch] })
    t.deepEqual(sub.libc, [abi === 'gnu' ? 'glibc' : 'musl'], target)
    t.deepEqual(sub.engines, pkg.engines, target)
  }
})

test('the tarballs hold what users need: no sources, tests, target/ or stray binaries', (t) => {
  const { tarballs } = setup()
  const main = tarballs[pkg.name]
  t.true(main.includes('dist/index.js') && main.includes('dist/index.d.ts') && main.includes('dist/binding.js'), main.join())
  for (const file of main) t.regex(file, /^(package\.json|README\.md|LICENSE|dist\/(src\/)?[\w-]+\.(js|d\.ts))$/, `${pkg.name} packs ${file}`)
  t.deepEqual(tarballs[`${pkg.name}-${here}`], ['README.md', `${pkg.napi.binaryName}.${here}.node`, 'package.json'])
})

test('installed with no cargo, rustc, cc or gcc on PATH, offline', (t) => {
  const app = setup()
  const found = spawnSync('sh', ['-c', 'for c in cargo rustc cc gcc c++ g++ clang; do command -v "$c"; done; true'], {
    env: app.env,
    encoding: 'utf8',
  })
  t.is(found.stdout, '', 'the stripped PATH still finds a compiler')
  t.true(existsSync(app.node))
})

test('require("netring") and import("netring") load the packed binary', (t) => {
  const app = setup()
  const cjs = JSON.parse(
    nodeIn(app, ['-e', 'const n = require("netring"); console.log(JSON.stringify({ keys: Object.keys(n), native: Object.keys(require.cache).filter((k) => k.endsWith(".node")) }))']),
  )
  t.deepEqual(cjs.native, [app.node])
  const esm = nodeIn(app, ['--input-type=module', '-e', 'const n = await import("netring"); console.log(Object.keys(n).join())']).trim().split(',')
  for (const name of ['openRing', 'openTx', 'open', 'Capture', 'Packet', 'SCHEMES']) {
    t.true(cjs.keys.includes(name), `require: ${name}`)
    t.true(esm.includes(name), `import: ${name}`)
  }
})

test('TypeScript compiles code using the API against the installed .d.ts', (t) => {
  const app = setup()
  const source = `import { openRing, openTx, type CaptureOptions, type Packet } from 'netring'

export async function firstLength(iface: string, options: CaptureOptions = {}): Promise<number> {
  for await (const packet of openRing(iface, options)) {
    const p: Packet = packet
    return p.length + p.data.byteLength
  }
  return 0
}

export async function sendOne(iface: string, frame: Uint8Array): Promise<void> {
  const tx = openTx(\`int:\${iface}\`)
  await tx.send(frame)
  await tx.close()
}

// @ts-expect-error: an interface is named by a string; fails if the types were any
openRing(42)
`
  writeFileSync(join(app.dir, 'app.ts'), source)
  writeFileSync(join(app.dir, 'app.mts'), source)
  writeFileSync(
    join(app.dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'node16',
        moduleResolution: 'node16',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        // The user's own @types/node; here the repo's, so that nothing is fetched.
        typeRoots: [join(root, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['app.ts', 'app.mts'],
    }),
  )
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: app.dir,
    env: app.env,
    encoding: 'utf8',
  })
  t.is(tsc.status, 0, tsc.stdout + tsc.stderr)
})

// musl builds carry no GLIBC_ versions.
;(here.endsWith('-gnu') ? test : test.skip)(`the packed .node needs no GLIBC_ version above ${GLIBC_FLOOR}`, (t) => {
  const { node } = setup()
  const needs = execFileSync('readelf', ['-V', '-W', node], { encoding: 'utf8' })
  const versions = [...needs.matchAll(/Name: GLIBC_([\d.]+)/g)].map((m) => m[1]).sort(versionOrder)
  t.true(versions.length > 0, needs)
  const highest = versions[versions.length - 1]
  t.log(`highest GLIBC_ version needed: ${highest}`)
  const symbols = execFileSync('objdump', ['-T', node], { encoding: 'utf8' })
  const over = [...symbols.matchAll(/\(GLIBC_([\d.]+)\)\s+(\S+)/g)].filter((m) => versionOrder(m[1], GLIBC_FLOOR) > 0)
  t.deepEqual(
    over.map((m) => `${m[2]}@GLIBC_${m[1]}`),
    [],
    'symbols above the floor',
  )
  t.true(versionOrder(highest, GLIBC_FLOOR) <= 0, `needs GLIBC_${highest}`)
  // A function the 2.17 sysroot lacks would link as an unversioned undefined symbol (a
  // .node may leave symbols for its host to define) and fail only when loaded. Only
  // Node-API's and libuv's functions (node exports both) may be left so, and weak ones
  // that std looks up at run time.
  const unresolved = execFileSync('readelf', ['--dyn-syms', '-W', node], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[6] === 'UND' && f[4] === 'GLOBAL' && f[7] && !f[7].includes('@'))
    .map((f) => f[7])
  t.true(unresolved.includes('napi_create_object'), 'readelf --dyn-syms lists the Node-API imports')
  t.deepEqual(
    unresolved.filter((name) => !/^(napi|node_api|uv)_/.test(name)),
    [],
    'undefined symbols that are neither versioned nor Node-API nor libuv',
  )
})

test('the packed .node needs no shared library beyond glibc and libgcc_s', (t) => {
  const { node } = setup()
  const dynamic = execFileSync('readelf', ['-d', '-W', node], { encoding: 'utf8' })
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1])
  t.true(needed.some((lib) => lib.startsWith('libc.')), dynamic)
  t.deepEqual(
    needed.filter((lib) => !ALLOWED_NEEDED.test(lib)),
    [],
    `NEEDED: ${needed.join(', ')}`,
  )
})

test('a platform with no binary gets one message naming it and the supported ones', (t) => {
  // Pretends to be another platform before anything loads.
  const preload = 'Object.defineProperty(process, "platform", { value: process.env.FAKE_PLATFORM }); Object.defineProperty(process, "arch", { value: process.env.FAKE_ARCH })'
  const dir = mkdtempSync(join(tmpdir(), 'netring-platform-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'fake.js'), preload)
  const cases: Array<[string, string, string]> = [
    ['darwin', 'arm64', 'darwin-arm64'],
    ['win32', 'x64', 'win32-x64'],
    ['linux', 'riscv64', 'linux-riscv64-gnu'],
  ]
  for (const [platform, arch, name] of cases) {
    const r = spawnSync(process.execPath, ['--require', join(dir, 'fake.js'), '-e', 'require("netring")'], {
      cwd: root,
      env: { ...process.env, FAKE_PLATFORM: platform, FAKE_ARCH: arch },
      encoding: 'utf8',
    })
    t.not(r.status, 0)
    const errors = r.stderr.split('\n').filter((line) => /^\w*Error\b/.test(line))
    t.is(errors.length, 1, r.stderr)
    t.true(errors[0].startsWith(`Error: netring has no prebuilt binary for ${name}; supported: ${platforms.join(', ')}. `), r.stderr)
    t.notRegex(r.stderr, /Cannot find|cause/)
  }
})

privileged('the installed package captures a frame sent on a veth pair', async (t, ns) => {
  const app = setup()
  const sent = frame(7)
  const script = `
const { openRing, openTx } = require('netring')
const [netns, rx, tx, hex] = process.argv.slice(1)
async function main() {
  const capture = openRing(rx, { netns })
  const first = (async () => { for await (const p of capture) return p.copy() })()
  const sender = openTx('int:' + tx, { netns })
  await sender.send(Buffer.from(hex, 'hex'))
  await sender.close()
  const p = await first
  console.log(JSON.stringify({ length: p.length, data: Buffer.from(p.data).toString('hex') }))
}
main().catch((e) => { console.error(e); process.exit(1) })
`
  // A guard against a hang, not a timing assertion.
  const out = execFileSync(process.execPath, ['-e', script, ns.name, A, B, sent.toString('hex')], {
    cwd: app.dir,
    env: app.env,
    encoding: 'utf8',
    timeout: 60_000,
  })
  t.deepEqual(JSON.parse(out), { length: sent.length, data: sent.toString('hex') })
})
