import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keeps a long pull's memory flat. Parsing and validating page after page
 * allocates a lot that dies young, and V8 lets its heap's high-water mark
 * creep up over a long run of that, though what is alive stays small (a
 * million-product run works within a 48 MB old generation). When the heap
 * passes `limitMb` after a page, one full collection (a few tens of
 * milliseconds) brings it back, so a million-product run peaks near a
 * hundred-thousand-product one.
 */
export class HeapKeeper {
  static #gc: (() => void) | undefined;
  readonly #limit: number;

  constructor(limitMb = 64) {
    this.#limit = limitMb * 1024 * 1024;
  }

  /** Called after each page: collects when the heap has grown past the limit. */
  check(): void {
    if (v8.getHeapStatistics().used_heap_size <= this.#limit) return;
    if (!HeapKeeper.#gc) {
      // gc() is exposed to new contexts once the flag is set; the process's own global stays as it is.
      // Made only when first needed: a small pull never pays for the extra context.
      v8.setFlagsFromString('--expose-gc');
      HeapKeeper.#gc = runInNewContext('gc') as () => void;
    }
    HeapKeeper.#gc();
  }
}
