/**
 * Errors in words. Firestore's errors carry a code (`permission-denied`,
 * `not-found`, ...) and, from the emulator, the rules engine's own text; a person
 * sees what it means for them instead, per situation. Anything without a known code
 * keeps its message.
 */

export type ErrorContext = 'ticket' | 'list' | 'save' | 'create' | 'action';

const WORDS: Record<ErrorContext, Partial<Record<string, string>>> = {
  ticket: {
    'permission-denied': "You don't have access to this ticket.",
    'not-found': 'This ticket no longer exists.',
    unauthenticated: 'Sign in to see this ticket.',
    unavailable: 'The database cannot be reached right now; the page retries on its own.',
  },
  list: {
    'permission-denied': "You don't have access to these tickets.",
    unauthenticated: 'Sign in to see your tickets.',
    unavailable: 'The database cannot be reached right now; the page retries on its own.',
  },
  save: {
    'permission-denied':
      'Your edit was not saved: the ticket is being generated (or is no longer yours).',
    'not-found': 'Your edit was not saved: this ticket no longer exists.',
    unavailable: 'Your edit was not saved: the database cannot be reached right now.',
  },
  create: {
    'permission-denied': 'The ticket was not created: this account may not create tickets.',
    unavailable: 'The ticket was not created: the database cannot be reached right now.',
  },
  action: {
    'permission-denied':
      'Your decision was not sent: the ticket moved on (perhaps in another tab) or is not yours.',
    'not-found': 'Your decision was not sent: this ticket no longer exists.',
    unavailable: 'Your decision was not sent: the database cannot be reached right now.',
  },
};

/** The Firestore / Firebase error code of `e` (without the `firestore/` prefix). */
export function errorCode(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code) return null;
  return code.replace(/^[a-z]+\//, '');
}

/** What `e` means for the person, in the situation `context`. */
export function describeError(e: unknown, context: ErrorContext): string {
  const code = errorCode(e);
  const words = code ? WORDS[context][code] : undefined;
  if (words) return words;
  return e instanceof Error ? e.message : String(e);
}
