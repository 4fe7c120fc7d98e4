import { useLeaveAfterCancel } from '../hooks/useLeaveAfterCancel';
import { useTicket } from '../hooks/useTicket';
import type { AecStatus } from '../types';
import { useWorkflowStore } from '../workflow/store';
import { FindingsReviewModal } from './FindingsReviewModal';
import { ApiErrorNotice, RejectionNotice } from './notices';
import { QuestionsWizard } from './QuestionsWizard';
import { DraftRequest } from './ticket/DraftRequest';
import { FailedRun } from './ticket/FailedRun';
import { LockedRequest } from './ticket/LockedRequest';
import { ReadyTicket } from './ticket/ReadyTicket';
import { RequestEditor } from './ticket/RequestEditor';
import { TicketHeader } from './ticket/TicketHeader';
import {
  TicketCancelled,
  TicketLoadError,
  TicketLoading,
  TicketMissing,
} from './ticket/TicketPlaceholders';
import { TicketGenerationProgress } from './TicketGenerationProgress';

/** The statuses in which a run holds the ticket. */
const RUN_HOLDS: ReadonlySet<AecStatus> = new Set([
  'generating',
  'awaiting_review',
  'awaiting_answers',
]);

/** One ticket, live: the screen follows its status in Firestore. */
export function TicketView({ aecId, uid }: { aecId: string; uid: string }) {
  const { loadError } = useTicket(aecId, uid);
  useLeaveAfterCancel(aecId);
  const aec = useWorkflowStore((s) => s.aec);
  const missing = useWorkflowStore((s) => s.missing);
  const status = useWorkflowStore((s) => s.status);
  const workflowState = useWorkflowStore((s) => s.workflowState);
  const locked = useWorkflowStore((s) => s.locked);
  const starting = useWorkflowStore((s) => s.starting);
  const apiError = useWorkflowStore((s) => s.apiError);

  if (loadError) return <TicketLoadError message={loadError} />;
  if (missing) return <TicketMissing />;
  if (!aec || !status) return <TicketLoading />;

  const showProgress =
    aec.generationState != null && (RUN_HOLDS.has(status) || status === 'failed');

  return (
    <div
      className="ticket-view"
      data-testid="ticket-view"
      data-aec-id={aec.id}
      data-status={status}
      data-workflow-state={workflowState}
    >
      <TicketHeader aec={aec} status={status} />

      {status !== 'awaiting_review' && <RejectionNotice />}
      <ApiErrorNotice />

      {status === 'draft' && <DraftRequest aecId={aecId} aec={aec} />}
      {RUN_HOLDS.has(status) && <LockedRequest aec={aec} />}
      {status === 'failed' && <FailedRun aecId={aecId} />}

      {showProgress && <TicketGenerationProgress />}
      {status === 'awaiting_review' && <FindingsReviewModal />}
      {status === 'awaiting_answers' && <QuestionsWizard />}

      {(status === 'ready' || status === 'failed') && (
        <>
          <RequestEditor key={`${aec.id}:${aec.version ?? 0}`} aec={aec} locked={locked} />
          {status === 'ready' && <ReadyTicket aecId={aecId} aec={aec} />}
        </>
      )}

      {status === 'cancelled' && <TicketCancelled />}
      {apiError === null && starting && (
        <p className="muted" aria-live="polite">
          Starting generation…
        </p>
      )}
    </div>
  );
}
