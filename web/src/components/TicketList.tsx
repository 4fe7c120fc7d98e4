import { useEffect, useState } from 'react';
import { hrefFor } from '../router';
import { describeError } from '../errors';
import { subscribeTickets } from '../tickets';
import { formatWhen } from '../time';
import type { AecDoc } from '../types';
import { ProviderLabel, StatusBadge } from './badges';

/** The signed-in user's tickets, live, most recently changed first. */
export function TicketList({ uid }: { uid: string }) {
  const [tickets, setTickets] = useState<AecDoc[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setTickets(null);
    setError(null);
    return subscribeTickets(uid, setTickets, (e) => setError(describeError(e, 'list')));
  }, [uid]);

  return (
    <section className="ticket-list-page">
      <header className="page-header">
        <h1>Tickets</h1>
        <a className="button primary" href={hrefFor({ name: 'new' })} data-testid="new-ticket-button">
          New ticket
        </a>
      </header>
      {error && (
        <p className="banner banner-error" role="alert" data-testid="list-error">
          {error}
        </p>
      )}
      {tickets === null && !error && (
        <p className="muted" data-testid="list-loading">
          Loading…
        </p>
      )}
      {tickets !== null && tickets.length === 0 && (
        <p className="muted" data-testid="list-empty">
          No tickets yet. Create one to get started.
        </p>
      )}
      {tickets !== null && tickets.length > 0 && (
        <ul className="ticket-list" data-testid="ticket-list">
          {tickets.map((t) => {
            const offline = Boolean(t.generatedBy?.offline || t.generationState?.provider?.offline);
            return (
              <li key={t.id} data-testid="ticket-row" data-aec-id={t.id} data-status={t.status}>
                <a href={hrefFor({ name: 'ticket', aecId: t.id })} className="ticket-row-link">
                  <span className="ticket-row-title" data-testid="ticket-row-title">
                    {t.title}
                  </span>
                  <StatusBadge status={t.status} />
                  {t.status === 'ready' && (
                    <ProviderLabel provider={t.generatedBy} offline={offline} />
                  )}
                  <span className="muted ticket-row-when">{formatWhen(t.updatedAt)}</span>
                </a>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
