/**
 * The workflow store of the open ticket. Its workflow fields are fed ONLY by
 * Firestore snapshots (`ingest`); the person's decisions go out as action documents
 * (`actions.ts`) and come back as new snapshots. Local-only state: the answers being
 * typed, the wizard position, the pending action and a rejection to show.
 */
import { create } from 'zustand';
import { writeAction, watchActionResult, type ActionInput } from '../actions';
import { startGeneration } from '../api';
import { describeError } from '../errors';
import { onUserChange } from '../session';
import type { ActionType, AecDoc } from '../types';
import { applySnapshot, EMPTY_VIEW, type WorkflowView } from './reducer';

export type ResumeAction = 'proceed' | 'edit' | 'cancel';

export interface PendingAction {
  id: string | null;
  type: ActionType;
}

export interface Rejection {
  type: ActionType;
  reason: string;
}

export interface WorkflowStore extends WorkflowView {
  /** Who the open ticket is shown to (its listener runs with their credentials). */
  viewer: string | null;
  answers: Record<string, string>;
  questionIndex: number;
  pending: PendingAction | null;
  rejection: Rejection | null;
  /** The last action accepted by the server (e.g. to leave after a cancel). */
  accepted: { id: string; type: ActionType } | null;
  starting: boolean;
  apiError: string | null;

  /**
   * Show ticket `aecId` to `viewer` (a uid; omitted = whoever it is shown to now).
   * Everything is cleared when it is another ticket or another viewer, so one
   * user never sees what was loaded for another.
   */
  open(aecId: string | null, viewer?: string): void;
  /** Apply an AEC snapshot (null = deleted). */
  ingest(aec: AecDoc | null): void;
  setAnswer(questionId: string, text: string): void;
  setQuestionIndex(index: number): void;
  nextQuestion(): void;
  previousQuestion(): void;
  resumeWorkflow(action: ResumeAction): Promise<void>;
  submitAnswers(answers?: Record<string, string>): Promise<void>;
  skipQuestions(): Promise<void>;
  abortGeneration(): Promise<void>;
  /** Call `start_generation` for the open ticket (new run or retry); with `answers`,
   * refine a ready ticket again from its new answers. */
  startGeneration(aecId?: string, answers?: Record<string, string>): Promise<boolean>;
  clearRejection(): void;
  clearApiError(): void;
}

const LOCAL_INITIAL = {
  answers: {} as Record<string, string>,
  questionIndex: 0,
  pending: null,
  rejection: null,
  accepted: null,
  starting: false,
  apiError: null,
};

let unwatch: (() => void) | null = null;

function stopWatching() {
  if (unwatch) {
    unwatch();
    unwatch = null;
  }
}

/** Only answers with text are sent. */
export function cleanAnswers(answers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(answers)) {
    const t = (v ?? '').trim();
    if (t) out[k] = t;
  }
  return out;
}

export const useWorkflowStore = create<WorkflowStore>()((set, get) => {
  async function send(input: ActionInput): Promise<void> {
    const s = get();
    const aecId = s.aecId;
    if (!aecId) return;
    stopWatching();
    set({ pending: { id: null, type: input.type }, rejection: null });
    let id: string;
    try {
      id = await writeAction(aecId, input);
    } catch (e) {
      set({ pending: null, rejection: { type: input.type, reason: describeError(e, 'action') } });
      return;
    }
    if (get().aecId !== aecId) return;
    set({ pending: { id, type: input.type } });
    unwatch = watchActionResult(
      aecId,
      id,
      (result) => {
        stopWatching();
        if (get().aecId !== aecId) return;
        if (result.status === 'rejected') {
          set({
            pending: null,
            rejection: { type: input.type, reason: result.reason || 'The action was rejected.' },
          });
        } else {
          set({ pending: null, accepted: { id, type: input.type } });
        }
      },
      () => {
        stopWatching();
        if (get().aecId === aecId) set({ pending: null });
      },
    );
  }

  return {
    ...EMPTY_VIEW,
    ...LOCAL_INITIAL,

    viewer: null,

    open(aecId, viewer) {
      const s = get();
      const sameViewer = viewer === undefined || s.viewer === null || s.viewer === viewer;
      if (s.aecId === aecId && aecId !== null && sameViewer) {
        if (viewer !== undefined && s.viewer !== viewer) set({ viewer });
        return;
      }
      stopWatching();
      set({ ...EMPTY_VIEW, ...LOCAL_INITIAL, aecId, viewer: viewer ?? s.viewer });
    },

    ingest(aec) {
      const prev = get();
      if (aec && prev.aecId && aec.id && aec.id !== prev.aecId) return; // another ticket
      // Never another user's ticket, not even a cached copy for a moment.
      if (aec && prev.viewer && aec.ownerId !== prev.viewer) return;
      const view = applySnapshot(prev, aec, prev.aecId);
      if (view === prev) return; // older snapshot: never move back
      const sameSuspension =
        view.token !== '' && view.token === prev.token && view.runId === prev.runId;
      const local = sameSuspension
        ? {}
        : {
            answers: view.suspension?.kind === 'questions' ? {} : { ...(view.aec?.answers ?? {}) },
            questionIndex: 0,
          };
      set({ ...view, ...local });
    },

    setAnswer(questionId, text) {
      set({ answers: { ...get().answers, [questionId]: text } });
    },

    setQuestionIndex(index) {
      const n = get().questions.length;
      set({ questionIndex: Math.max(0, Math.min(index, Math.max(0, n - 1))) });
    },

    nextQuestion() {
      get().setQuestionIndex(get().questionIndex + 1);
    },

    previousQuestion() {
      get().setQuestionIndex(get().questionIndex - 1);
    },

    async resumeWorkflow(action) {
      const s = get();
      if (!s.runId) return;
      await send({ type: action, runId: s.runId, token: s.token });
    },

    async submitAnswers(answers) {
      const s = get();
      if (!s.runId) return;
      const all = cleanAnswers(answers ?? s.answers);
      await send({ type: 'answer', runId: s.runId, token: s.token, answers: all });
    },

    async skipQuestions() {
      const s = get();
      if (!s.runId) return;
      await send({ type: 'skip', runId: s.runId, token: s.token });
    },

    async abortGeneration() {
      const s = get();
      if (!s.runId) return;
      await send({ type: 'abort', runId: s.runId, token: '' });
    },

    async startGeneration(aecId, answers) {
      const id = aecId ?? get().aecId;
      if (!id) return false;
      set({ starting: true, apiError: null, rejection: null });
      try {
        await (answers ? startGeneration(id, answers) : startGeneration(id));
        if (get().aecId === id) set({ starting: false });
        return true;
      } catch (e) {
        if (get().aecId === id) {
          set({ starting: false, apiError: e instanceof Error ? e.message : String(e) });
        }
        return false;
      }
    },

    clearRejection() {
      set({ rejection: null });
    },

    clearApiError() {
      set({ apiError: null });
    },
  };
});

// A change of user clears the open ticket before the next screen renders.
onUserChange((uid) => {
  stopWatching();
  useWorkflowStore.setState({ ...EMPTY_VIEW, ...LOCAL_INITIAL, aecId: null, viewer: uid });
});
