import type { AecDoc } from '../../types';
import { TicketRepository } from '../RepositoryStatus';

/** The request as it is while a run holds the lock: read only. */
export function LockedRequest({ aec }: { aec: AecDoc }) {
  return (
    <section className="card request-locked" data-testid="request-locked">
      <p className="locked-note" data-testid="locked-note">
        Locked: this ticket is being generated and cannot be edited until the run ends.
      </p>
      <p className="request-description">{aec.description || <span className="muted">No description.</span>}</p>
      <TicketRepository repo={aec.repository} fallbackUrl={aec.repo} />
    </section>
  );
}
