/** What a test needs to tell a leak: the heap after a full GC, sockets still connecting. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Heap in use after a full garbage collection. */
export function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

/** Sockets of this process still connecting (undici destroys an aborted one once it connects). */
export function connectingSockets(): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => (h as { readyState?: string }).readyState === 'opening').length;
}
