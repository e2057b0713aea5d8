/**
 * Keeping the event loop turning: a capture or sender that always finds work (a batch
 * ready, room in the ring) would otherwise run on microtasks alone.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'

export { nextTurn }

/**
 * How long a capture or sender may keep the event loop busy before it lets timers and
 * I/O run. Under sustained traffic a batch is always ready (or room always comes back),
 * so without this a `for await` loop would run on microtasks alone and starve the loop.
 */
export const TURN_MS = 5

/** Tracks how long the current turn of the event loop has been ours. */
export class Turn {
  #start = performance.now()

  /** A new turn began (after a real wait). */
  reset(): void {
    this.#start = performance.now()
  }

  /** Lets the event loop run if this turn has lasted longer than TURN_MS. */
  async yield(): Promise<void> {
    if (performance.now() - this.#start > TURN_MS) {
      await nextTurn()
      this.reset()
    }
  }
}
