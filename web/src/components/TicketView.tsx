import { useEffect, useRef } from 'react';
import { useLeaveAfterCancel } from '../hooks/useLeaveAfterCancel';
import { useTicket } from '../hooks/useTicket';
import { useWorkflowStore } from '../workflow/store';
import { FindingsReviewModal } from './FindingsReviewModal';
import { ApiErrorNotice, RejectionNotice, UnsavedEditsNotice } from './notices';
import { QuestionsWizard } from './QuestionsWizard';
import { DraftRequest } from './ticket/DraftRequest';
import { FailedRun } from './ticket/FailedRun';
import { LockedRequest } from './ticket/LockedRequest';
import { ReadyTicket } from './ticket/ReadyTicket';
import { RequestEditor } from './ticket/RequestEditor';
import { RUN_HOLDS, TicketHeader } from './ticket/TicketHeader';
import {
  TicketCancelled,
  TicketLoadError,
  TicketLoading,
  TicketMissing,
} from './ticket/TicketPlaceholders';
import { TicketGenerationProgress } from './TicketGenerationProgress';

/**
 * One ticket, live: the screen follows its status in Firestore. What needs the
 * person comes first: the review or the questions above the (folded) step list, the
 * finished ticket above its (folded) request. A change of status brings the page
 * back to the top. Only the viewer's own ticket is ever shown: until the store holds
 * this ticket for this user, the page shows "Loading".
 */
export function TicketView({ aecId, uid }: { aecId: string; uid: string }) {
  const { loadError } = useTicket(aecId, uid);
  useLeaveAfterCancel(aecId);
  const aec = useWorkflowStore((s) => s.aec);
  const shownFor = useWorkflowStore((s) => `${s.viewer}/${s.aecId}`);
  const missing = useWorkflowStore((s) => s.missing);
  const status = useWorkflowStore((s) => s.status);
  const workflowState = useWorkflowStore((s) => s.workflowState);
  const locked = useWorkflowStore((s) => s.locked);
  const starting = useWorkflowStore((s) => s.starting);
  const apiError = useWorkflowStore((s) => s.apiError);
  const heading = useRef<HTMLHeadingElement>(null);
  const lastStatus = useRef(status);

  useEffect(() => {
    if (lastStatus.current !== null && status !== null && lastStatus.current !== status) {
      window.scrollTo({ top: 0 });
      if (status === 'ready') heading.current?.focus({ preventScroll: true });
    }
    lastStatus.current = status;
  }, [status]);

  const ours = shownFor === `${uid}/${aecId}`;
  if (loadError) return <TicketLoadError message={loadError} />;
  if (ours && missing) return <TicketMissing />;
  if (!ours || !aec || !status) return <TicketLoading />;

  const holds = RUN_HOLDS.has(status);
  const showProgress = aec.generationState != null && (holds || status === 'failed');
  const formShown = status === 'draft' || status === 'ready' || status === 'failed';

  return (
    <div
      className="ticket-view"
      data-testid="ticket-view"
      data-aec-id={aec.id}
      data-status={status}
      data-workflow-state={workflowState}
    >
      <TicketHeader aec={aec} status={status} ref={heading} />

      {status !== 'awaiting_review' && <RejectionNotice />}
      <ApiErrorNotice />
      {!formShown && <UnsavedEditsNotice aecId={aecId} />}

      {status === 'awaiting_review' && <FindingsReviewModal />}
      {status === 'awaiting_answers' && <QuestionsWizard />}
      {status === 'ready' && <ReadyTicket aecId={aecId} aec={aec} />}
      {status === 'draft' && <DraftRequest aecId={aecId} aec={aec} />}
      {status === 'failed' && <FailedRun aecId={aecId} />}

      {showProgress && <TicketGenerationProgress expanded={status !== 'awaiting_answers'} />}
      {holds && <LockedRequest aec={aec} />}
      {(status === 'ready' || status === 'failed') && (
        <RequestEditor key={`${aec.id}:${aec.version ?? 0}`} aec={aec} locked={locked} />
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
