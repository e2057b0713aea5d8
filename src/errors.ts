/**
 * The errors netring throws itself, and the translation of the binding's errors: a napi
 * `Error` carries only a message, so the binding sends `CODE|kind|message`
 * (crates/napi/src/error.rs) and `fromNative` makes it a `RangeError`, `TypeError` or
 * `Error` with `.code` before a user sees it.
 */

/** A Node-style error from the binding's `CODE|kind|message` form. */
export function fromNative(error: unknown): unknown {
  if (!(error instanceof Error)) return error
  const match = /^([A-Z0-9_]+)\|(range|type|system)\|([\s\S]*)$/.exec(error.message)
  if (match === null) return error
  const [, code, kind, message] = match
  const Class = kind === 'range' ? RangeError : kind === 'type' ? TypeError : Error
  return Object.assign(new Class(message), { code })
}

/** Calls into the binding, translating what it throws. */
export function call<T>(fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    throw fromNative(error)
  }
}

/** Use after close: `ERR_NETRING_CLOSED`, naming what was closed. */
export function closedError(what: string): Error {
  return Object.assign(new Error(`${what} is closed`), { code: 'ERR_NETRING_CLOSED' })
}

/** A zeroCopy packet read after its ring slot went back to the kernel. */
export function releasedError(): Error {
  return Object.assign(
    new Error('the packet was read in place (zeroCopy) and its ring slot has been given back to the kernel; keep packet.copy() to use it later'),
    { code: 'ERR_NETRING_RELEASED' },
  )
}
