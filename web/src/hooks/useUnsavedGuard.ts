/**
 * While `values` differ from the saved request: record them as the ticket's unsaved
 * edit (see `workflow/unsaved.ts`) and ask the browser to warn before the tab is
 * closed or reloaded. The record is kept when the form unmounts (that is when the
 * text would otherwise be lost); it is cleared when the values match again.
 */
import { useEffect } from 'react';
import { useUnsavedStore, type UnsavedEdit } from '../workflow/unsaved';

export function useUnsavedGuard(aecId: string | undefined, values: UnsavedEdit | null): void {
  const put = useUnsavedStore((s) => s.put);
  const key = values ? JSON.stringify(values) : '';
  useEffect(() => {
    if (!aecId) return;
    put(aecId, key ? (JSON.parse(key) as UnsavedEdit) : null);
  }, [aecId, key, put]);
  useEffect(() => {
    if (!key) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [key]);
}
