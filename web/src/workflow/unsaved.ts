/**
 * Edits typed into a ticket's request that are not saved yet, per ticket. A form
 * reports its text while it differs from the saved request; the entry outlives the
 * form, so when another tab starts a generation (and the form gives way to the
 * locked view) the text is still there to show, copy or restore, instead of
 * vanishing. Saving clears it; so does a change of user.
 */
import { create } from 'zustand';
import { onUserChange } from '../session';

export interface UnsavedEdit {
  title: string;
  description: string;
  repo: string;
  repoRef?: string;
}

interface UnsavedStore {
  edits: Record<string, UnsavedEdit>;
  put(aecId: string, edit: UnsavedEdit | null): void;
  clear(aecId: string): void;
}

export const useUnsavedStore = create<UnsavedStore>()((set, get) => ({
  edits: {},
  put(aecId, edit) {
    const edits = { ...get().edits };
    if (edit) edits[aecId] = edit;
    else delete edits[aecId];
    set({ edits });
  },
  clear(aecId) {
    get().put(aecId, null);
  },
}));

onUserChange(() => useUnsavedStore.setState({ edits: {} }));

/** Whether any form on the page holds unsaved text. */
export function hasUnsavedEdits(): boolean {
  return Object.keys(useUnsavedStore.getState().edits).length > 0;
}
