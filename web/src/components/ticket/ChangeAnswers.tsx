import { useState, type FormEvent } from 'react';
import { Md } from '../../lib/markdown';
import type { AecDoc } from '../../types';
import { useWorkflowStore } from '../../workflow/store';

/**
 * New answers for a ready ticket. Submitting starts a run that keeps steps 1-9 of
 * the last one as they were recorded (nothing before the answers is generated
 * again) and refines the ticket from step 10 with these answers.
 */
export function ChangeAnswers({
  aecId,
  aec,
  onClose,
}: {
  aecId: string;
  aec: AecDoc;
  onClose: () => void;
}) {
  const questions = aec.questions ?? [];
  const [answers, setAnswers] = useState<Record<string, string>>(() => ({ ...(aec.answers ?? {}) }));
  const starting = useWorkflowStore((s) => s.starting);
  const start = useWorkflowStore((s) => s.startGeneration);
  const given = Object.fromEntries(
    Object.entries(answers)
      .map(([k, v]) => [k, v.trim()] as const)
      .filter(([, v]) => v !== ''),
  );
  const unchanged = JSON.stringify(given) === JSON.stringify(aec.answers ?? {});

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await start(aecId, given)) onClose();
  }

  return (
    <form className="change-answers" onSubmit={submit} data-testid="change-answers-form">
      <h3>Change answers</h3>
      <p className="muted">
        The ticket is refined again from your answers; the steps before them are kept as they
        were.
      </p>
      {questions.map((q) => (
        <label className="field" key={q.id}>
          <span>
            <Md text={q.text} />
          </span>
          <input
            type="text"
            value={answers[q.id] ?? ''}
            onChange={(e) => setAnswers({ ...answers, [q.id]: e.target.value })}
            data-testid={`change-answer-${q.id}`}
            autoComplete="off"
          />
        </label>
      ))}
      <div className="buttons">
        <button
          type="submit"
          className="primary"
          disabled={starting || unchanged || Object.keys(given).length === 0}
          data-testid="change-answers-submit"
        >
          {starting ? 'Starting…' : 'Refine with these answers'}
        </button>
        <button type="button" onClick={onClose} disabled={starting}>
          Cancel
        </button>
      </div>
    </form>
  );
}
