/** The AEC document `aecs/{aecId}` as the page reads it (camelCase, all optional-safe). */

export type AecStatus =
  | 'draft'
  | 'generating'
  | 'awaiting_review'
  | 'awaiting_answers'
  | 'ready'
  | 'failed'
  | 'cancelled';

export type StepStatus =
  | 'waiting'
  | 'running'
  | 'done'
  | 'skipped'
  | 'degraded'
  | 'failed'
  | 'suspended';

export type RunStatus = 'running' | 'suspended' | 'completed' | 'failed' | 'cancelled';

export type Severity = 'critical' | 'warning' | 'info';

/** A timestamp as Firestore or JSON may deliver it. */
export type TimestampLike =
  | string
  | number
  | Date
  | { toMillis(): number }
  | { seconds: number; nanoseconds?: number }
  | { _seconds: number; _nanoseconds?: number }
  | null
  | undefined;

export interface Intent {
  goal: string;
  actors?: string[];
  constraints?: string[];
  inScope?: string[];
  outOfScope?: string[];
}

export interface Finding {
  id: string;
  kind: string;
  severity: Severity;
  evidence: string;
  message: string;
  suggestion?: string | null;
}

export interface Question {
  id: string;
  text: string;
  why?: string;
  choices?: string[];
  findingId?: string | null;
}

export interface Refinement {
  questionId: string;
  answer: string;
  change: string;
}

export interface Provider {
  name: string;
  offline: boolean;
  model?: string | null;
}

export interface RunError {
  code: string;
  message: string;
  step?: number | null;
  retryable?: boolean;
}

export interface Draft {
  acceptanceCriteria?: string[];
  assumptions?: string[];
  repoPaths?: string[];
}

export interface StepProgress {
  index: number;
  name: string;
  title: string;
  status: StepStatus;
  detail?: string;
  startedAt?: TimestampLike;
  finishedAt?: TimestampLike;
}

export interface Suspension {
  kind: 'review' | 'questions';
  token: string;
  findings?: Finding[];
  questions?: Question[];
  draft?: Draft | null;
  expiresAt?: TimestampLike;
}

export interface GenerationState {
  runId: string;
  status: RunStatus;
  currentStep: number;
  totalSteps?: number;
  steps?: StepProgress[];
  suspension?: Suspension | null;
  error?: RunError | null;
  cancelReason?: string | null;
  provider?: Provider | null;
  seq?: number;
  updatedAt?: TimestampLike;
}

export interface AecDoc {
  id: string;
  ownerId: string;
  title: string;
  description?: string;
  repo?: string | null;
  status: AecStatus;
  locked?: boolean;
  lockedBy?: string | null;
  type?: string | null;
  typeConfidence?: number | null;
  intent?: Intent | null;
  acceptanceCriteria?: string[];
  assumptions?: string[];
  repoPaths?: string[];
  findings?: Finding[];
  questions?: Question[];
  answers?: Record<string, string>;
  refinements?: Refinement[];
  generatedBy?: Provider | null;
  error?: RunError | null;
  generationState?: GenerationState | null;
  version?: number;
  createdAt?: TimestampLike;
  updatedAt?: TimestampLike;
}

export type ActionType = 'proceed' | 'edit' | 'cancel' | 'answer' | 'skip' | 'abort';

export interface ActionResult {
  actionId?: string;
  status: 'accepted' | 'rejected';
  reason?: string | null;
  runId?: string;
  at?: TimestampLike;
}
