import type { AecDoc } from '../../types';
import { useWorkflowStore } from '../../workflow/store';
import { TicketContent } from '../TicketContent';

/** The finished ticket, and "Generate again" while no run holds it. */
export function ReadyTicket({ aecId, aec }: { aecId: string; aec: AecDoc }) {
  const locked = useWorkflowStore((s) => s.locked);
  const starting = useWorkflowStore((s) => s.starting);
  const start = useWorkflowStore((s) => s.startGeneration);
  return (
    <section className="card ticket-ready" data-testid="ticket-ready">
      <h2>Ticket</h2>
      <TicketContent aec={aec} />
      <div className="buttons">
        <button
          type="button"
          onClick={() => void start(aecId)}
          disabled={starting || locked}
          data-testid="regenerate-button"
        >
          Generate again
        </button>
      </div>
    </section>
  );
}
