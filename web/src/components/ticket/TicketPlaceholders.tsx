/** What the ticket page shows instead of a ticket: an error, a deleted ticket, loading. */

export function TicketLoadError({ message }: { message: string }) {
  return (
    <div className="banner banner-error" role="alert" data-testid="load-error">
      <span data-testid="load-error-message">{message}</span> <a href="#/">Back to tickets</a>
    </div>
  );
}

export function TicketMissing() {
  return (
    <section className="card" data-testid="ticket-missing">
      <p>This ticket no longer exists.</p>
      <a href="#/" data-testid="back-to-list">
        Back to tickets
      </a>
    </section>
  );
}

export function TicketLoading() {
  return (
    <p className="muted" data-testid="ticket-loading">
      Loading…
    </p>
  );
}

export function TicketCancelled() {
  return (
    <section className="card" data-testid="ticket-cancelled">
      <p>This ticket was cancelled.</p>
    </section>
  );
}
