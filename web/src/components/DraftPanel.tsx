import { Md } from '../lib/markdown';
import type { Draft } from '../types';

function List({ items, testId, empty }: { items?: string[]; testId: string; empty: string }) {
  if (!items || items.length === 0) return <p className="muted">{empty}</p>;
  return (
    <ul data-testid={testId}>
      {items.map((x, i) => (
        <li key={i}>
          <Md text={x} />
        </li>
      ))}
    </ul>
  );
}

/** The draft the questions refine: acceptance criteria, assumptions, paths. */
export function DraftPanel({ draft }: { draft: Draft | null }) {
  return (
    <aside className="card draft-panel" data-testid="wizard-draft" aria-label="Current draft">
      <h3>Draft</h3>
      <h4>Acceptance criteria</h4>
      <List items={draft?.acceptanceCriteria} testId="draft-acceptance-criteria" empty="None yet." />
      <h4>Assumptions</h4>
      <List items={draft?.assumptions} testId="draft-assumptions" empty="None." />
      <h4>Repository paths</h4>
      <ul data-testid="draft-repo-paths">
        {(draft?.repoPaths ?? []).map((p, i) => (
          <li key={i}>
            <code>{p}</code>
          </li>
        ))}
      </ul>
    </aside>
  );
}
