#!/usr/bin/env node
// Puts napi-rs's glibc 2.17 gcc toolchain where `napi build --use-napi-cross` looks for it,
// so the .node we build and ship loads on glibc 2.17 and later (CentOS 7, Debian 8+, Ubuntu 14.04+).
//
//   node scripts/cross-toolchain.mjs [TARGET_TRIPLE]     (default: x86_64-unknown-linux-gnu)
//
// Why not let `napi build --use-napi-cross` download it: @napi-rs/cli 3.10 uses
// @napi-rs/cross-toolchain 1.0.5, which runs `npm pack <toolchain package>@1.0.5`, a version that
// was never published (the x86_64 toolchain's last release is 1.0.0, aarch64's 1.0.3), and
// unpacks the .tar.xz with @napi-rs/lzma 1.5, whose native module needs Node >= 22.20.
// So we fetch the pinned toolchain package with npm (checked against the registry's
// integrity hash), unpack it with tar and xz, and put it in the directory the CLI reads
// before downloading: ~/.napi-rs/cross-toolchain/<version>/<triple>, marked by its package.json.
// Delete this script once the CLI's own download works.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

/** Toolchain packages for an x86_64 Linux host (the only host they are published for). */
const TOOLCHAINS = {
  'x86_64-unknown-linux-gnu': { spec: '@napi-rs/cross-toolchain-x64-target-x86_64@1.0.0', archive: 'x86_64-unknown-linux-gnu.tar.xz' },
  'aarch64-unknown-linux-gnu': { spec: '@napi-rs/cross-toolchain-x64-target-aarch64@1.0.3', archive: 'aarch64-unknown-linux-gnu.tar.xz' },
}

const fail = (message) => {
  console.error(`netring cross-toolchain: ${message}`)
  process.exit(1)
}

const triple = process.argv[2] ?? 'x86_64-unknown-linux-gnu'
if (process.platform !== 'linux' || process.arch !== 'x64') {
  fail(`the glibc 2.17 toolchain runs on Linux x64 hosts only, not ${process.platform}-${process.arch}; build with \`npm run build:host\` (the .node then needs this host's glibc)`)
}
const toolchain = TOOLCHAINS[triple]
if (!toolchain) fail(`no glibc 2.17 toolchain for ${triple}; known: ${Object.keys(TOOLCHAINS).join(', ')}`)

// The version the CLI puts in the path: that of the @napi-rs/cross-toolchain it loads.
const cliRequire = createRequire(createRequire(import.meta.url).resolve('@napi-rs/cli'))
const { version } = cliRequire('@napi-rs/cross-toolchain/package.json')
const dest = join(homedir(), '.napi-rs', 'cross-toolchain', version, triple)
if (existsSync(join(dest, 'package.json'))) process.exit(0)

const work = mkdtempSync(join(tmpdir(), 'netring-toolchain-'))
try {
  console.error(`netring cross-toolchain: fetching ${toolchain.spec} (about 50 MB, once) into ${dest}`)
  const [{ filename }] = JSON.parse(
    execFileSync('npm', ['pack', toolchain.spec, '--json', '--pack-destination', work], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
  )
  execFileSync('tar', ['-xzf', join(work, filename), '-C', work, `package/${toolchain.archive}`], { stdio: 'inherit' })
  const tree = join(work, 'tree')
  mkdirSync(tree)
  execFileSync('tar', ['-xJf', join(work, 'package', toolchain.archive), '-C', tree], { stdio: 'inherit' })
  // An earlier `napi build --use-napi-cross` may have left the directory empty; a parallel
  // run of this script may have finished first.
  mkdirSync(join(dest, '..'), { recursive: true })
  if (!existsSync(join(dest, 'package.json'))) {
    rmSync(dest, { recursive: true, force: true })
    try {
      renameSync(tree, dest)
    } catch (error) {
      if (!existsSync(join(dest, 'package.json'))) throw error
    }
  }
} catch (error) {
  process.exitCode = 1
  console.error(`netring cross-toolchain: could not install ${toolchain.spec} (needs the npm registry once, tar and xz: Debian package xz-utils): ${error.message}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
