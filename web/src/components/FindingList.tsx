import { Md } from '../lib/markdown';
import type { Finding } from '../types';
import { SeverityBadge } from './badges';

const ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };
const EVIDENCE_MAX = 280;

/** Open findings first (critical, then warnings, then information), settled ones last. */
export function sortFindings(findings: Finding[]): Finding[] {
  const settled = (f: Finding) => (f.status && f.status !== 'open' ? 1 : 0);
  return [...findings].sort(
    (a, b) => settled(a) - settled(b) || (ORDER[a.severity] ?? 3) - (ORDER[b.severity] ?? 3),
  );
}

/** The name a finding says is wrong and the one its suggestion offers ("Did you mean
 * `x`?"), when it has both: what "Use `x`" replaces in the request. */
export function replacementOf(f: Finding): { from: string; to: string } | null {
  const from = /`([^`]+)`/.exec(f.message)?.[1];
  const to = f.suggestion ? /did you mean `([^`]+)`/i.exec(f.suggestion)?.[1] : undefined;
  return from && to && from !== to ? { from, to } : null;
}

function shortEvidence(text: string): string {
  const t = text.trim();
  return t.length > EVIDENCE_MAX ? `${t.slice(0, EVIDENCE_MAX - 1).trimEnd()}…` : t;
}

const SETTLED: Record<string, string> = { acknowledged: 'Acknowledged', resolved: 'Resolved' };

export interface FindingListProps {
  findings: Finding[];
  testId: string;
  /** Offer "Use `x`" for findings with a replacement (the edit form applies it). */
  onApply?: (from: string, to: string) => void;
  /** Whether `from` still appears in the request (the button is off otherwise). */
  canApply?: (from: string) => boolean;
}

/** Findings with severity, the sentence of the request they are about, a suggestion,
 * and on a finished ticket how each was settled (the review and the answers). */
export function FindingList({ findings, testId, onApply, canApply }: FindingListProps) {
  return (
    <ul className="findings" data-testid={testId}>
      {sortFindings(findings).map((f) => {
        const status = f.status ?? 'open';
        const fix = onApply ? replacementOf(f) : null;
        return (
          <li
            key={f.id}
            className={`finding finding-${f.severity}${status !== 'open' ? ' finding-settled' : ''}`}
            data-testid="finding-row"
            data-finding-id={f.id}
            data-severity={f.severity}
            data-finding-status={status}
          >
            <div className="finding-head">
              <SeverityBadge severity={f.severity} />
              {status !== 'open' && (
                <span className={`badge settled settled-${status}`} data-testid="finding-status">
                  {SETTLED[status] ?? status}
                </span>
              )}
              <span className="finding-message">
                <Md text={f.message} />
              </span>
            </div>
            {f.evidence && (
              <blockquote className="finding-evidence" data-testid="finding-evidence">
                <Md text={shortEvidence(f.evidence)} />
              </blockquote>
            )}
            {f.suggestion && (
              <div className="finding-suggestion">
                <Md text={f.suggestion} />
                {fix && onApply && (
                  <button
                    type="button"
                    className="small"
                    onClick={() => onApply(fix.from, fix.to)}
                    disabled={canApply ? !canApply(fix.from) : false}
                    data-testid="apply-suggestion"
                  >
                    Use <code>{fix.to}</code>
                  </button>
                )}
              </div>
            )}
            {f.resolution && (
              <div className="finding-resolution muted" data-testid="finding-resolution">
                <Md text={f.resolution} />
              </div>
            )}
          </li>
        );
      })}
    </ul>
  );
}
