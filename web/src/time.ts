import type { TimestampLike } from './types';

/** Milliseconds since the epoch for any timestamp shape, or null. */
export function toMillis(value: TimestampLike): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms;
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? null : ms;
  }
  if (typeof value === 'object') {
    if ('toMillis' in value && typeof value.toMillis === 'function') return value.toMillis();
    if ('seconds' in value && typeof value.seconds === 'number') {
      return value.seconds * 1000 + Math.floor((value.nanoseconds ?? 0) / 1e6);
    }
    if ('_seconds' in value && typeof value._seconds === 'number') {
      return value._seconds * 1000 + Math.floor((value._nanoseconds ?? 0) / 1e6);
    }
  }
  return null;
}

/** `m:ss` or `h:mm:ss` for a duration in milliseconds. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A short local date-time, or an empty string. */
export function formatWhen(value: TimestampLike): string {
  const ms = toMillis(value);
  if (ms === null) return '';
  return new Date(ms).toLocaleString(undefined, {
    dateStyle: 'medium',
    timeStyle: 'short',
  });
}
