/**
 * Pure derivation of the page's workflow view from an AEC snapshot.
 *
 * All state on screen comes from Firestore: `fromSnapshot` reads one AEC document,
 * `applySnapshot` decides whether a snapshot is newer than what is shown (the run's
 * `generationState.seq` and the document `version` only ever grow, so an older
 * snapshot never moves the view back).
 */
import type {
  AecDoc,
  AecStatus,
  Draft,
  Finding,
  GenerationState,
  Provider,
  Question,
  RunError,
  StepProgress,
  StepStatus,
  Suspension,
} from '../types';

export type WorkflowState = 'idle' | 'running' | 'suspended' | 'complete' | 'failed';

/** A step row on screen: a stored step whose status defaults to waiting. */
export type StepRow = StepProgress & { status: StepStatus };

export const TOTAL_STEPS = 11;

export interface WorkflowView {
  aecId: string | null;
  aec: AecDoc | null;
  /** The document was deleted (or never existed). */
  missing: boolean;
  status: AecStatus | null;
  workflowState: WorkflowState;
  runId: string | null;
  runStatus: GenerationState['status'] | null;
  seq: number;
  version: number;
  currentStep: number;
  totalSteps: number;
  steps: StepRow[];
  suspension: Suspension | null;
  token: string;
  findings: Finding[];
  questions: Question[];
  draft: Draft | null;
  error: RunError | null;
  provider: Provider | null;
  offline: boolean;
  locked: boolean;
}

export const EMPTY_VIEW: WorkflowView = {
  aecId: null,
  aec: null,
  missing: false,
  status: null,
  workflowState: 'idle',
  runId: null,
  runStatus: null,
  seq: -1,
  version: -1,
  currentStep: 0,
  totalSteps: TOTAL_STEPS,
  steps: [],
  suspension: null,
  token: '',
  findings: [],
  questions: [],
  draft: null,
  error: null,
  provider: null,
  offline: false,
  locked: false,
};

const STATUS_TO_WORKFLOW: Record<AecStatus, WorkflowState> = {
  draft: 'idle',
  generating: 'running',
  awaiting_review: 'suspended',
  awaiting_answers: 'suspended',
  ready: 'complete',
  failed: 'failed',
  cancelled: 'idle',
};

const RUN_TO_WORKFLOW: Record<GenerationState['status'], WorkflowState> = {
  running: 'running',
  suspended: 'suspended',
  completed: 'complete',
  failed: 'failed',
  cancelled: 'idle',
};

/** The page's workflow state for an AEC status (and its run, when the status is unknown). */
export function workflowStateOf(
  status: AecStatus | null | undefined,
  run?: GenerationState | null,
): WorkflowState {
  if (status && status in STATUS_TO_WORKFLOW) return STATUS_TO_WORKFLOW[status];
  if (run && run.status in RUN_TO_WORKFLOW) return RUN_TO_WORKFLOW[run.status];
  return 'idle';
}

/** The step rows to show: the run's steps, padded to `totalSteps` with waiting rows. */
export function normalizeSteps(gs: GenerationState | null | undefined): StepRow[] {
  const total = gs?.totalSteps && gs.totalSteps > 0 ? gs.totalSteps : TOTAL_STEPS;
  const byIndex = new Map<number, StepProgress>();
  for (const s of gs?.steps ?? []) {
    if (s && typeof s.index === 'number') byIndex.set(s.index, s);
  }
  const rows: StepRow[] = [];
  for (let i = 1; i <= total; i++) {
    const s = byIndex.get(i);
    rows.push(
      s
        ? { ...s, status: s.status ?? 'waiting', title: s.title || s.name || `Step ${i}` }
        : { index: i, name: `step_${i}`, title: `Step ${i}`, status: 'waiting' },
    );
  }
  return rows;
}

/** Derive the whole view from one AEC document (null = deleted). Pure. */
export function fromSnapshot(aec: AecDoc | null, aecId?: string | null): WorkflowView {
  if (!aec) {
    return { ...EMPTY_VIEW, aecId: aecId ?? null, missing: true };
  }
  const gs = aec.generationState ?? null;
  const suspension = gs?.suspension ?? null;
  const status = aec.status ?? null;
  const workflowState = workflowStateOf(status, gs);
  const suspended = workflowState === 'suspended' && suspension !== null;
  const provider = aec.generatedBy ?? gs?.provider ?? null;
  const offline = Boolean(aec.generatedBy?.offline || gs?.provider?.offline);
  const error =
    workflowState === 'failed' ? (aec.error ?? gs?.error ?? null) : (aec.error ?? null);
  return {
    aecId: aec.id ?? aecId ?? null,
    aec,
    missing: false,
    status,
    workflowState,
    runId: gs?.runId ?? null,
    runStatus: gs?.status ?? null,
    seq: typeof gs?.seq === 'number' ? gs.seq : -1,
    version: typeof aec.version === 'number' ? aec.version : -1,
    currentStep: gs?.currentStep ?? 0,
    totalSteps: gs?.totalSteps ?? TOTAL_STEPS,
    steps: normalizeSteps(gs),
    suspension: suspended ? suspension : null,
    token: suspended ? (suspension?.token ?? '') : '',
    findings: suspended && suspension?.findings ? suspension.findings : (aec.findings ?? []),
    questions: suspended && suspension?.questions ? suspension.questions : (aec.questions ?? []),
    draft: suspended && suspension?.draft ? suspension.draft : null,
    error,
    provider,
    offline,
    locked: Boolean(aec.locked),
  };
}

/** True when `next` is older than `prev` for the same ticket (and must be ignored). */
export function isStale(prev: WorkflowView, next: WorkflowView): boolean {
  if (!prev.aec || prev.aecId !== next.aecId || next.missing) return false;
  if (prev.version >= 0 && next.version >= 0 && next.version < prev.version) return true;
  if (prev.runId && prev.runId === next.runId && next.seq < prev.seq) return true;
  return false;
}

/** Apply a snapshot: the derived view, unless the snapshot is older than the current one. */
export function applySnapshot(
  prev: WorkflowView,
  aec: AecDoc | null,
  aecId?: string | null,
): WorkflowView {
  const next = fromSnapshot(aec, aecId ?? prev.aecId);
  return isStale(prev, next) ? prev : next;
}
