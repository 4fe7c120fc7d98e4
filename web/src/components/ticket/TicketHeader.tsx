import { formatWhen } from '../../time';
import type { AecDoc, AecStatus } from '../../types';
import { useWorkflowStore } from '../../workflow/store';
import { FallbackNotice, ProviderLabel, StatusBadge } from '../badges';

/** Back link, title, status, who wrote the content (and which steps had no AI), and
 * when it last changed. */
export function TicketHeader({ aec, status }: { aec: AecDoc; status: AecStatus }) {
  const provider = useWorkflowStore((s) => s.provider);
  const offline = useWorkflowStore((s) => s.offline);
  return (
    <header className="ticket-header">
      <a href="#/" className="link" data-testid="back-to-list">
        ← Tickets
      </a>
      <h1 data-testid="ticket-title">{aec.title}</h1>
      <div className="ticket-meta">
        <StatusBadge status={status} />
        <ProviderLabel provider={provider} offline={offline} />
        <FallbackNotice steps={aec.fallbackSteps} />
        {aec.updatedAt != null && (
          <span className="muted">Updated {formatWhen(aec.updatedAt)}</span>
        )}
      </div>
    </header>
  );
}
