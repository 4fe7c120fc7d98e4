import { useState } from 'react';
import { download, ticketFileName, ticketJson, ticketMarkdown } from '../../lib/exportTicket';
import type { AecDoc } from '../../types';
import { TicketContent } from '../TicketContent';
import { ChangeAnswers } from './ChangeAnswers';

/** The finished ticket, first on the page: its content, and what can be done with it
 * (copy it as Markdown, download it as JSON, change the answers). */
export function ReadyTicket({ aecId, aec }: { aecId: string; aec: AecDoc }) {
  const [copied, setCopied] = useState<string | null>(null);
  const [changing, setChanging] = useState(false);
  const hasQuestions = (aec.questions ?? []).length > 0;

  async function copy() {
    try {
      await navigator.clipboard.writeText(ticketMarkdown(aec));
      setCopied('Copied as Markdown.');
    } catch (e) {
      setCopied(`Could not copy: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  return (
    <section className="card ticket-ready" data-testid="ticket-ready" aria-labelledby="ready-heading">
      <header className="card-header">
        <h2 id="ready-heading">Ticket</h2>
        <span className="spacer" />
        <button type="button" onClick={() => void copy()} data-testid="copy-markdown">
          Copy as Markdown
        </button>
        <button
          type="button"
          onClick={() =>
            download(
              ticketFileName(aec, 'json'),
              `${JSON.stringify(ticketJson(aec), null, 2)}\n`,
              'application/json',
            )
          }
          data-testid="download-json"
        >
          Download JSON
        </button>
        {hasQuestions && !changing && (
          <button type="button" onClick={() => setChanging(true)} data-testid="change-answers-button">
            Change answers
          </button>
        )}
      </header>
      {copied && (
        <p className="muted" role="status" data-testid="copy-status">
          {copied}
        </p>
      )}
      {changing && <ChangeAnswers aecId={aecId} aec={aec} onClose={() => setChanging(false)} />}
      <TicketContent aec={aec} />
    </section>
  );
}
