/**
 * Edits typed into a ticket's request that are not saved yet, per ticket. A form
 * reports its text while it differs from the saved request; the entry outlives the
 * form, so when another tab starts a generation (and the form gives way to the
 * locked view) the text is still there to show, copy or restore, instead of
 * vanishing. Saving clears it; so does a change of user. Whether the request editor
 * is unfolded is kept the same way.
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
  /** Tickets whose request editor the user unfolded: it stays open when a new version
   * of the ticket arrives (the editor is rebuilt from it) until the user folds it. */
  unfolded: Record<string, true>;
  put(aecId: string, edit: UnsavedEdit | null): void;
  clear(aecId: string): void;
  unfold(aecId: string, open: boolean): void;
}

export const useUnsavedStore = create<UnsavedStore>()((set, get) => ({
  edits: {},
  unfolded: {},
  unfold(aecId, open) {
    const unfolded = { ...get().unfolded };
    if (open) unfolded[aecId] = true;
    else delete unfolded[aecId];
    set({ unfolded });
  },
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

onUserChange(() => useUnsavedStore.setState({ edits: {}, unfolded: {} }));

/** Whether any form on the page holds unsaved text. */
export function hasUnsavedEdits(): boolean {
  return Object.keys(useUnsavedStore.getState().edits).length > 0;
}
