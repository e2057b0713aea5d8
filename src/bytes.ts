/**
 * Buffers over part of a batch's memory, made without `subarray()`.
 *
 * `Buffer#subarray()` finds its result's constructor through `Symbol.species`, a slow
 * path in V8 for a subclass of Uint8Array: on Node 20 it costs about 38 ns, where
 * constructing the subclass directly costs about 15 ns. `packet.data` is read once per
 * packet by most loops, so this is most of what reading it costs.
 */

/** A Buffer (its prototype chain holds `Buffer.prototype`, `constructor` is `Buffer`):
 * `Buffer.isBuffer()`, `instanceof Buffer`, every Buffer method and `util.inspect()`
 * treat it as one. */
class Bytes extends Uint8Array {}
Object.setPrototypeOf(Bytes.prototype, Buffer.prototype)
Object.defineProperty(Bytes.prototype, 'constructor', { value: Buffer, writable: true, configurable: true })

/** Bytes `start` to `end` of `buffer`, sharing its memory, clamped to its length as
 * `buffer.subarray(start, end)` clamps them (for `start` and `end` ≥ 0). */
export function view(buffer: Buffer, start: number, end: number): Buffer {
  const to = end < buffer.length ? end : buffer.length
  const from = start < to ? start : to
  return bytesAt(buffer.buffer as ArrayBuffer, buffer.byteOffset + from, to - from)
}

/** `length` bytes of `memory` from `offset`, a range known to be inside it. */
export function bytesAt(memory: ArrayBuffer, offset: number, length: number): Buffer {
  return new Bytes(memory, offset, length) as unknown as Buffer
}
