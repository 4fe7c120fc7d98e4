import { useEffect, useRef, type FormEvent } from 'react';
import { Md } from '../lib/markdown';
import { useWorkflowStore } from '../workflow/store';
import { DraftPanel } from './DraftPanel';

/** One question at a time, the draft beside it; Back / Next, Skip all / Submit. */
export function QuestionsWizard() {
  const questions = useWorkflowStore((s) => s.questions);
  const draft = useWorkflowStore((s) => s.draft);
  const answers = useWorkflowStore((s) => s.answers);
  const index = useWorkflowStore((s) => s.questionIndex);
  const pending = useWorkflowStore((s) => s.pending);
  const setAnswer = useWorkflowStore((s) => s.setAnswer);
  const next = useWorkflowStore((s) => s.nextQuestion);
  const back = useWorkflowStore((s) => s.previousQuestion);
  const submit = useWorkflowStore((s) => s.submitAnswers);
  const skip = useWorkflowStore((s) => s.skipQuestions);
  const inputRef = useRef<HTMLInputElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);

  const total = questions.length;
  const i = Math.min(index, Math.max(0, total - 1));
  const q = questions[i];
  const isLast = i >= total - 1;
  const busy = pending !== null;

  // Move focus to the answer whenever the question changes.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      headingRef.current?.focus();
      return;
    }
    inputRef.current?.focus();
  }, [i]);

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    if (isLast) void submit();
    else next();
  }

  const answered = questions.filter((x) => (answers[x.id] ?? '').trim() !== '').length;

  return (
    <section className="wizard-layout" data-testid="questions-wizard">
      <form className="card wizard" onSubmit={onSubmit} aria-labelledby="wizard-heading">
        <h2 id="wizard-heading" tabIndex={-1} ref={headingRef}>
          A few questions
        </h2>
        <p className="muted" data-testid="wizard-progress" aria-live="polite">
          Question {total === 0 ? 0 : i + 1} of {total} · {answered} answered
        </p>
        {q ? (
          <fieldset className="question" data-testid="wizard-question" data-question-id={q.id}>
            <legend className="question-text">
              <Md text={q.text} />
            </legend>
            {q.why && (
              <p className="muted question-why" id={`why-${q.id}`}>
                Why we ask: <Md text={q.why} />
              </p>
            )}
            {q.choices && q.choices.length > 0 && (
              <div className="choices" role="radiogroup" aria-label="Suggested answers">
                {q.choices.map((c, ci) => (
                  <label key={ci} className="choice">
                    <input
                      type="radio"
                      name={`choice-${q.id}`}
                      value={c}
                      checked={(answers[q.id] ?? '') === c}
                      onChange={() => setAnswer(q.id, c)}
                      data-testid={`wizard-choice-${ci}`}
                    />
                    {c}
                  </label>
                ))}
              </div>
            )}
            <label className="field">
              <span>Your answer</span>
              <input
                ref={inputRef}
                type="text"
                value={answers[q.id] ?? ''}
                onChange={(e) => setAnswer(q.id, e.target.value)}
                aria-describedby={q.why ? `why-${q.id}` : undefined}
                data-testid="wizard-answer-input"
                autoComplete="off"
              />
            </label>
            <p className="muted hint">Press Enter for the next question.</p>
          </fieldset>
        ) : (
          <p>No questions.</p>
        )}
        <div className="buttons">
          <button type="button" data-testid="wizard-back" onClick={back} disabled={i === 0 || busy}>
            Back
          </button>
          {!isLast && (
            <button type="submit" className="primary" data-testid="wizard-next" disabled={busy}>
              Next
            </button>
          )}
          <span className="spacer" />
          <button type="button" data-testid="wizard-skip" onClick={() => void skip()} disabled={busy}>
            Skip all
          </button>
          <button
            type={isLast ? 'submit' : 'button'}
            className={isLast ? 'primary' : undefined}
            data-testid="wizard-submit"
            onClick={isLast ? undefined : () => void submit()}
            disabled={busy}
          >
            Submit answers
          </button>
        </div>
        {busy && (
          <p className="muted" data-testid="action-pending" aria-live="polite">
            Sending…
          </p>
        )}
      </form>
      <DraftPanel draft={draft} />
    </section>
  );
}
