import { vi } from 'vitest';
import type { ActionResult } from '../src/types';

/** Callbacks registered through the mocked `watchActionResult`, by action id. */
export const watchers = new Map<
  string,
  { onResult: (r: ActionResult) => void; onGone?: () => void; unsubscribe: ReturnType<typeof vi.fn> }
>();

let counter = 0;

export function resetActionMocks(writeAction: ReturnType<typeof vi.fn>, watch: ReturnType<typeof vi.fn>) {
  watchers.clear();
  counter = 0;
  writeAction.mockReset();
  writeAction.mockImplementation(async () => `action-${++counter}`);
  watch.mockReset();
  watch.mockImplementation(
    (_aecId: string, actionId: string, onResult: (r: ActionResult) => void, onGone?: () => void) => {
      const unsubscribe = vi.fn();
      watchers.set(actionId, { onResult, onGone, unsubscribe });
      return unsubscribe;
    },
  );
}
