/**
 * Loads the native module through napi's generated `binding.js`, after checking that a
 * prebuilt binary exists for this platform. Where none does, `binding.js` would throw a
 * chain of "Cannot find module" errors, one per candidate file and package; this throws
 * one Error that names the platform and the supported ones instead.
 */
import { readFileSync } from 'node:fs'

/**
 * The platforms with a prebuilt binary, one npm package each (`netring-linux-x64-gnu`, ...);
 * the same list as `napi.targets` in package.json (a test keeps them equal).
 */
export const SUPPORTED_PLATFORMS: readonly string[] = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl']

/** Whether this Linux runs on musl rather than glibc, decided as napi's `binding.js` decides it. */
function isMusl(): boolean {
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    // glibc reports its version here; musl does not.
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
    return !report?.header?.glibcVersionRuntime
  }
}

/** This process's platform as the binary packages name it: `linux-x64-gnu`, `darwin-arm64`. */
export function currentPlatform(): string {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`
  return `linux-${process.arch}-${isMusl() ? 'musl' : 'gnu'}`
}

/** The Error `require("netring")` throws on a platform with no prebuilt binary. */
export function unsupportedPlatformError(platform: string): Error {
  const why = platform.startsWith('linux-')
    ? 'To build one from source you need Rust: see "Try it, test it" in the README (scripts/setup.sh builds it).'
    : 'netring captures through Linux AF_PACKET sockets, so it runs on Linux only.'
  return new Error(`netring has no prebuilt binary for ${platform}; supported: ${SUPPORTED_PLATFORMS.join(', ')}. ${why}`)
}

// NAPI_RS_NATIVE_LIBRARY_PATH names a .node built by hand; binding.js then loads that one.
if (!process.env.NAPI_RS_NATIVE_LIBRARY_PATH) {
  const platform = currentPlatform()
  if (!SUPPORTED_PLATFORMS.includes(platform)) throw unsupportedPlatformError(platform)
}

// Compiled to CommonJS, this require runs after the check above.
export * from '../binding'
