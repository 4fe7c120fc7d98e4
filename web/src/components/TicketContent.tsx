import { Md } from '../lib/markdown';
import type { AecDoc, Question } from '../types';
import { FindingList } from './FindingList';

function questionText(questions: Question[] | undefined, id: string): string {
  return questions?.find((q) => q.id === id)?.text ?? id;
}

function Items({ items, testId, ordered }: { items: string[]; testId: string; ordered?: boolean }) {
  const body = items.map((c, i) => (
    <li key={i}>
      <Md text={c} />
    </li>
  ));
  return ordered ? <ol data-testid={testId}>{body}</ol> : <ul data-testid={testId}>{body}</ul>;
}

/** The generated ticket: criteria, assumptions, decisions, paths, findings (and how
 * each was settled), what the answers changed. */
export function TicketContent({ aec }: { aec: AecDoc }) {
  const criteria = aec.acceptanceCriteria ?? [];
  const assumptions = aec.assumptions ?? [];
  const decisions = aec.decisions ?? [];
  const paths = aec.repoPaths ?? [];
  const findings = aec.findings ?? [];
  const refinements = aec.refinements ?? [];
  const intent = aec.intent;
  return (
    <div className="ticket-content" data-testid="ticket-content">
      {(aec.type || intent?.goal) && (
        <section className="section">
          {aec.type && (
            <p>
              <span className="label">Type</span>{' '}
              <span data-testid="ticket-type">{aec.type}</span>
              {typeof aec.typeConfidence === 'number' && (
                <span className="muted"> ({Math.round(aec.typeConfidence * 100)}% confidence)</span>
              )}
            </p>
          )}
          {intent?.goal && (
            <p>
              <span className="label">Goal</span>{' '}
              <span data-testid="ticket-goal">
                <Md text={intent.goal} />
              </span>
            </p>
          )}
        </section>
      )}
      <section className="section">
        <h3>Acceptance criteria</h3>
        {criteria.length ? (
          <Items items={criteria} testId="acceptance-criteria" ordered />
        ) : (
          <p className="muted">None.</p>
        )}
      </section>
      {decisions.length > 0 && (
        <section className="section">
          <h3>Decisions</h3>
          <Items items={decisions} testId="decisions" />
        </section>
      )}
      <section className="section">
        <h3>Assumptions</h3>
        {assumptions.length ? (
          <Items items={assumptions} testId="assumptions" />
        ) : (
          <p className="muted">None.</p>
        )}
      </section>
      <section className="section">
        <h3>Repository paths</h3>
        {paths.length ? (
          <ul data-testid="repo-paths">
            {paths.map((p, i) => (
              <li key={i}>
                <code>{p}</code>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">None.</p>
        )}
      </section>
      <section className="section">
        <h3>Findings</h3>
        {findings.length ? (
          <FindingList findings={findings} testId="findings-list" />
        ) : (
          <p className="muted">No findings.</p>
        )}
      </section>
      {refinements.length > 0 && (
        <section className="section">
          <h3>What your answers changed</h3>
          <ul className="refinements" data-testid="refinements">
            {refinements.map((r, i) => (
              <li key={i} data-testid="refinement-row" data-question-id={r.questionId}>
                <div className="muted">
                  <Md text={questionText(aec.questions, r.questionId)} />
                </div>
                <div>
                  <span className="label">Answer</span> {r.answer}
                </div>
                <div>
                  <span className="label">Change</span> <Md text={r.change} />
                </div>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
