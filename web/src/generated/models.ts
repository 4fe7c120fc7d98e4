/**
 * GENERATED from the pydantic models: do not edit. Run `make web-models`.
 *
 * Source: web/src/generated/models.schema.json (python -m ticketflow.dev.web_schema),
 * compiled by json-schema-to-typescript (web/scripts/models.mjs).
 */

export type TicketType = 'feature' | 'bug' | 'chore' | 'spike';
export type FindingKind =
  | 'missing_file'
  | 'missing_symbol'
  | 'missing_route'
  | 'missing_setting'
  | 'missing_element'
  | 'contradiction'
  | 'missing_information'
  | 'unmeasurable'
  | 'risky_area'
  | 'unverifiable';
export type Severity = 'critical' | 'warning' | 'info';
/**
 * open until the person proceeds past it at the review (acknowledged) or an answer settles it (resolved)
 */
export type FindingStatus = 'open' | 'acknowledged' | 'resolved';
export type AECStatus =
  | 'draft'
  | 'generating'
  | 'awaiting_review'
  | 'awaiting_answers'
  | 'ready'
  | 'failed'
  | 'cancelled';

/**
 * The Firestore documents of ticketflow as the web page sees them.
 */
export interface TicketflowDocuments {
  aec: AEC;
  actionRequest: ActionRequest;
  actionResult: ActionResult;
  repository: RepositoryDoc;
}
/**
 * The ticket entity. Methods return a new AEC; the store decides how to save it.
 */
export interface AEC {
  type?: TicketType | null;
  typeConfidence?: number | null;
  intent?: Intent | null;
  acceptanceCriteria?: string[];
  assumptions?: string[];
  repoPaths?: string[];
  findings?: Finding[];
  questions?: Question[];
  answers?: {
    [k: string]: string;
  };
  refinements?: Refinement[];
  /**
   * what each answer settled, one sentence each
   */
  decisions?: string[];
  generatedBy?: Provider | null;
  /**
   * steps produced without AI: the model failed after its retries and the offline provider stood in
   */
  fallbackSteps?: string[];
  repository?: RepoContext | null;
  id: string;
  ownerId: string;
  title: string;
  description?: string;
  repo?: string | null;
  repoRef?: string | null;
  repoId?: string | null;
  status?: AECStatus;
  locked?: boolean;
  lockedBy?: string | null;
  generationState?: GenerationState | null;
  error?: RunError | null;
  version?: number;
  createdAt?: string | null;
  updatedAt?: string | null;
}
export interface Intent {
  goal: string;
  actors?: string[];
  constraints?: string[];
  inScope?: string[];
  outOfScope?: string[];
}
export interface Finding {
  id: string;
  kind: FindingKind;
  severity: Severity;
  evidence: string;
  message: string;
  suggestion?: string | null;
  status?: FindingStatus;
  /**
   * how it was settled, one sentence; empty while open
   */
  resolution?: string;
}
export interface Question {
  id: string;
  text: string;
  why?: string;
  choices?: string[];
  findingId?: string | null;
}
/**
 * Which answer changed what, kept on the ticket for the reader.
 */
export interface Refinement {
  questionId: string;
  answer: string;
  change: string;
}
/**
 * Who produced the text: the offline heuristics are never presented as AI.
 */
export interface Provider {
  name: string;
  offline: boolean;
  model?: string | null;
}
/**
 * The repository a ticket is checked against.
 *
 * ``url`` and ``ref`` are what the person named (a git URL, or a local directory in
 * the embedded default; ``ref`` ``None`` means the remote's default branch);
 * ``repo_id`` is their registration of it; ``commit`` what the ref resolved to when
 * the run started (``None`` until it could be resolved, and for a local directory);
 * ``index_id`` names the one index of that commit, shared by every ticket on the
 * same repository and commit. ``status`` is the index's state as last seen (queued,
 * indexing with ``files_done``/``files_total``, ready, or failed with ``error``).
 */
export interface RepoContext {
  url: string;
  ref?: string | null;
  repoId?: string | null;
  commit?: string | null;
  indexId?: string | null;
  status?: 'none' | 'queued' | 'indexing' | 'ready' | 'failed';
  filesDone?: number;
  filesTotal?: number;
  error?: string | null;
}
/**
 * Live progress of one run, as the page reads it. ``seq`` only ever grows.
 */
export interface GenerationState {
  runId: string;
  status: 'running' | 'suspended' | 'completed' | 'failed' | 'cancelled';
  currentStep: number;
  /**
   * how many steps the run's pinned workflow has
   */
  totalSteps: number;
  steps?: StepProgress[];
  suspension?: Suspension | null;
  error?: RunError | null;
  cancelReason?: string | null;
  /**
   * when the person chose to edit the request at the review: what step 3 found, shown beside the request while they edit it
   */
  findings?: Finding[];
  provider?: Provider | null;
  seq?: number;
  updatedAt?: string | null;
}
export interface StepProgress {
  index: number;
  name: string;
  title: string;
  status?: 'waiting' | 'running' | 'done' | 'skipped' | 'degraded' | 'failed' | 'suspended';
  detail?: string;
  fallback?: boolean;
  startedAt?: string | null;
  finishedAt?: string | null;
}
export interface Suspension {
  kind: 'review' | 'questions';
  token: string;
  findings?: Finding[];
  questions?: Question[];
  draft?: Draft | null;
  expiresAt?: string | null;
}
export interface Draft {
  acceptanceCriteria: string[];
  assumptions?: string[];
  repoPaths?: string[];
  /**
   * what each answer settled, one sentence each (empty before answers)
   */
  decisions?: string[];
}
export interface RunError {
  code: string;
  message: string;
  step?: number | null;
  retryable?: boolean;
}
/**
 * An action as written by the web page (``aecs/{aecId}/actions/{actionId}``) or the CLI.
 */
export interface ActionRequest {
  actionId: string;
  runId: string;
  aecId: string;
  type: 'proceed' | 'edit' | 'cancel' | 'answer' | 'skip' | 'abort';
  token?: string;
  uid?: string;
  answers?: {
    [k: string]: string;
  } | null;
  expired?: boolean;
}
/**
 * The server's verdict on a person's action, written back on the action document.
 */
export interface ActionResult {
  actionId: string;
  status: 'accepted' | 'rejected';
  reason?: string | null;
  runId?: string | null;
  at?: string | null;
}
/**
 * ``repositories/{repoId}``: a registration and its latest index, written by the
 * server only, read by its owner's page (live).
 */
export interface RepositoryDoc {
  repoId: string;
  ownerId: string;
  url: string;
  ref?: string | null;
  kind?: 'git' | 'path';
  createdAt?: string | null;
  updatedAt?: string | null;
  seq?: number;
  index?: IndexView | null;
}
/**
 * The latest index of a registration, as the page shows it.
 */
export interface IndexView {
  indexId: string;
  commit?: string | null;
  state: 'none' | 'queued' | 'indexing' | 'ready' | 'failed';
  filesDone?: number;
  filesTotal?: number;
  error?: string | null;
  /**
   * while retrying: why the last attempt failed
   */
  lastError?: string | null;
  attempts?: number;
  updatedAt?: string | null;
  stats?: IndexStats;
}
/**
 * What one build did: files extracted anew, copied unchanged from the previous
 * index of the repository (or kept in place), removed; bytes read; pack size.
 */
export interface IndexStats {
  extracted?: number;
  copied?: number;
  kept?: number;
  removed?: number;
  bytesRead?: number;
  packBytes?: number;
  fetchS?: number;
  buildS?: number;
  skipped?: {
    [k: string]: number;
  };
}
