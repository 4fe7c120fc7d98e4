import type { Finding } from '../types';
import { SeverityBadge } from './badges';

const ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };

/** Critical first, then warnings, then information. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => (ORDER[a.severity] ?? 3) - (ORDER[b.severity] ?? 3));
}

/** Findings with severity, evidence and suggestion (the review modal and the ticket). */
export function FindingList({ findings, testId }: { findings: Finding[]; testId: string }) {
  return (
    <ul className="findings" data-testid={testId}>
      {sortFindings(findings).map((f) => (
        <li
          key={f.id}
          className={`finding finding-${f.severity}`}
          data-testid="finding-row"
          data-finding-id={f.id}
          data-severity={f.severity}
        >
          <div className="finding-head">
            <SeverityBadge severity={f.severity} />
            <span className="finding-message">{f.message}</span>
          </div>
          <div className="finding-evidence">
            <span className="label">Evidence</span> <code>{f.evidence}</code>
          </div>
          {f.suggestion && (
            <div className="finding-suggestion">
              <span className="label">Suggestion</span> {f.suggestion}
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
