import { forwardRef } from 'react';
import { formatWhen } from '../../time';
import type { AecDoc, AecStatus } from '../../types';
import { useWorkflowStore } from '../../workflow/store';
import { FallbackNotice, ProviderLabel, StatusBadge } from '../badges';

/** The statuses in which a run holds the ticket. */
export const RUN_HOLDS: ReadonlySet<AecStatus> = new Set([
  'generating',
  'awaiting_review',
  'awaiting_answers',
]);

/** Back link, title, status, who wrote the content (only once there is content, or
 * while a run writes it; a draft that was never generated has no author), which
 * steps had no AI, and when it last changed. */
export const TicketHeader = forwardRef<HTMLHeadingElement, { aec: AecDoc; status: AecStatus }>(
  function TicketHeader({ aec, status }, headingRef) {
    const provider = useWorkflowStore((s) => s.provider);
    const offline = useWorkflowStore((s) => s.offline);
    const authored = Boolean(aec.generatedBy) || RUN_HOLDS.has(status);
    return (
      <header className="ticket-header">
        <a href="#/" className="link" data-testid="back-to-list">
          ← Tickets
        </a>
        <h1 data-testid="ticket-title" tabIndex={-1} ref={headingRef}>
          {aec.title}
        </h1>
        <div className="ticket-meta">
          <StatusBadge status={status} />
          {authored && <ProviderLabel provider={provider} offline={offline} />}
          <FallbackNotice steps={aec.fallbackSteps} />
          {aec.updatedAt != null && (
            <span className="muted">Updated {formatWhen(aec.updatedAt)}</span>
          )}
        </div>
      </header>
    );
  },
);
