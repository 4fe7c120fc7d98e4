import { describe, expect, it } from 'vitest';
import { formatDuration, toMillis } from '../src/time';

describe('toMillis', () => {
  const ms = Date.UTC(2025, 0, 1, 12, 0, 0);
  it('handles ISO strings, Dates, numbers', () => {
    expect(toMillis('2025-01-01T12:00:00Z')).toBe(ms);
    expect(toMillis(new Date(ms))).toBe(ms);
    expect(toMillis(ms)).toBe(ms);
  });
  it('handles Firestore Timestamps and their plain forms', () => {
    expect(toMillis({ toMillis: () => ms })).toBe(ms);
    expect(toMillis({ seconds: ms / 1000, nanoseconds: 5_000_000 })).toBe(ms + 5);
    expect(toMillis({ _seconds: ms / 1000, _nanoseconds: 0 })).toBe(ms);
  });
  it('returns null for missing or bad values', () => {
    expect(toMillis(null)).toBeNull();
    expect(toMillis(undefined)).toBeNull();
    expect(toMillis('not a date')).toBeNull();
  });
});

describe('formatDuration', () => {
  it('formats m:ss and h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(65_000)).toBe('1:05');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
  });
});
