import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../src/actions', () => ({ writeAction: vi.fn(), watchActionResult: vi.fn() }));
vi.mock('../src/api', () => ({ startGeneration: vi.fn() }));
vi.mock('../src/tickets', () => ({
  subscribeTicket: vi.fn(),
  subscribeTickets: vi.fn(),
  createTicket: vi.fn(),
  updateTicket: vi.fn(),
}));
vi.mock('../src/firebase', () => ({
  getFirebase: vi.fn(),
  getAuthInstance: vi.fn(),
  currentUid: () => 'user-1',
  currentIdToken: async () => 'token',
}));

import { startGeneration } from '../src/api';
import { FindingList } from '../src/components/FindingList';
import { TicketForm } from '../src/components/TicketForm';
import { TicketView } from '../src/components/TicketView';
import { describeError } from '../src/errors';
import { ticketJson, ticketMarkdown } from '../src/lib/exportTicket';
import { renderInline } from '../src/lib/markdown';
import { userChanged } from '../src/session';
import { subscribeTicket, updateTicket } from '../src/tickets';
import type { AecDoc, Finding } from '../src/types';
import { useWorkflowStore } from '../src/workflow/store';
import { useUnsavedStore } from '../src/workflow/unsaved';
import { aec, runState } from './fixtures';

const store = () => useWorkflowStore.getState();
let feed: (doc: AecDoc | null) => void = () => {};
let fail: (e: Error) => void = () => {};

beforeEach(() => {
  vi.mocked(startGeneration).mockReset().mockResolvedValue('run-2');
  vi.mocked(updateTicket).mockReset().mockResolvedValue(undefined);
  vi.mocked(subscribeTicket).mockReset().mockImplementation((_id, onData, onError) => {
    feed = onData;
    fail = onError;
    return () => {};
  });
  userChanged('user-1');
  store().open(null, 'user-1');
  useUnsavedStore.setState({ edits: {}, unfolded: {} });
});

function firestoreError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const SETTLED: Finding[] = [
  {
    id: 'f-crit', kind: 'missing_file', severity: 'critical', evidence: 'It is in a.py.',
    message: 'The request refers to the file `a.py`, which does not exist in the repository.',
    suggestion: 'Did you mean `b.py`?', status: 'acknowledged',
    resolution: 'You chose to proceed past it at the review.',
  },
  {
    id: 'f-fast', kind: 'missing_information', severity: 'warning',
    evidence: 'It should be fast.', message: "'fast' has no target value",
    status: 'resolved', resolution: 'Settled by your answer: under 2 s',
  },
];

describe('errors in words', () => {
  it('turns Firestore codes into sentences, per situation', () => {
    const denied = firestoreError('permission-denied',
      "evaluation error at L91:21 for 'get' @ L91, false for 'get' @ L106");
    expect(describeError(denied, 'ticket')).toBe("You don't have access to this ticket.");
    expect(describeError(firestoreError('not-found', 'x'), 'ticket')).toBe(
      'This ticket no longer exists.');
    expect(describeError(denied, 'save')).toMatch(/^Your edit was not saved/);
    expect(describeError(new Error('plain'), 'ticket')).toBe('plain');
  });

  it('shows the words, never the rules text, when the listener is refused', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    act(() => fail(firestoreError('permission-denied', "evaluation error at L91:21 for 'get'")));
    expect(screen.getByTestId('load-error')).toHaveTextContent("You don't have access to this ticket.");
    expect(screen.getByTestId('load-error')).not.toHaveTextContent('evaluation error');
  });
});

describe('a change of user', () => {
  it('clears the open ticket before anything renders, and ignores another owner', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    act(() => feed(aec('ready')));
    expect(screen.getByTestId('ticket-title')).toHaveTextContent('Export orders as CSV');
    act(() => userChanged('user-2'));
    expect(store().aec).toBeNull();
    expect(store().viewer).toBe('user-2');
    // a cached copy of user-1's ticket delivered to user-2's listener is not shown
    store().open('aec-1', 'user-2');
    act(() => store().ingest(aec('ready')));
    expect(store().aec).toBeNull();
  });

  it('drops the previous user\'s unsaved edits', () => {
    useUnsavedStore.getState().put('aec-1', { title: 't', description: 'd', repo: '' });
    userChanged('user-3');
    expect(useUnsavedStore.getState().edits).toEqual({});
  });
});

describe('inline markdown', () => {
  it('renders code, bold and links as elements, and nothing else as markup', () => {
    const { container } = render(
      <p>{renderInline('Use `b.py` **now**, see [docs](https://example.com) <b>not html</b>')}</p>,
    );
    expect(container.querySelector('code')).toHaveTextContent('b.py');
    expect(container.querySelector('strong')).toHaveTextContent('now');
    expect(container.querySelector('a')).toHaveAttribute('href', 'https://example.com');
    expect(container.querySelector('b')).toBeNull();
    expect(container).toHaveTextContent('<b>not html</b>');
  });
});

describe('findings', () => {
  it('show how each was settled, the sentence as evidence, code as code', () => {
    render(<FindingList findings={SETTLED} testId="list" />);
    const [crit, fast] = screen.getAllByTestId('finding-row');
    expect(crit).toHaveAttribute('data-finding-status', 'acknowledged');
    expect(within(crit).getByTestId('finding-status')).toHaveTextContent('Acknowledged');
    expect(crit.querySelector('.finding-message code')).toHaveTextContent('a.py');
    expect(within(crit).getByTestId('finding-evidence')).toHaveTextContent('It is in a.py.');
    expect(fast).toHaveAttribute('data-finding-status', 'resolved');
    expect(within(fast).getByTestId('finding-resolution')).toHaveTextContent('under 2 s');
  });
});

describe('edit keeps the findings and the unsaved text', () => {
  const edited = () =>
    aec('draft', {
      description: 'The bug is in a.py.',
      generationState: runState({
        status: 'cancelled', cancelReason: 'edit',
        findings: [{ ...SETTLED[0], status: 'open', resolution: '' }],
      }),
    });

  it('shows the review findings beside the form; "Use" applies a suggestion', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    act(() => feed(edited()));
    const aside = screen.getByTestId('form-findings');
    expect(within(aside).getAllByTestId('finding-row')).toHaveLength(1);
    await userEvent.click(within(aside).getByTestId('apply-suggestion'));
    expect(screen.getByTestId('form-description')).toHaveValue('The bug is in b.py.');
    expect(within(aside).getByTestId('apply-suggestion')).toBeDisabled();
  });

  it('keeps typed text when another tab starts the generation, and restores it', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    act(() => feed(edited()));
    await userEvent.type(screen.getByTestId('form-title'), ' (mine)');
    expect(useUnsavedStore.getState().edits['aec-1']?.title).toBe('Export orders as CSV (mine)');
    act(() => feed(aec('generating', { version: 4, generationState: runState({ runId: 'run-2' }) })));
    expect(screen.queryByTestId('ticket-form')).not.toBeInTheDocument();
    expect(screen.getByTestId('unsaved-edits')).toHaveTextContent('Export orders as CSV (mine)');
    act(() => feed(aec('draft', { version: 5, generationState: runState({
      runId: 'run-2', status: 'cancelled', cancelReason: 'user', seq: 9 }) })));
    expect(screen.getByTestId('restored-edits')).toBeInTheDocument();
    expect(screen.getByTestId('form-title')).toHaveValue('Export orders as CSV (mine)');
  });

  it('asks the browser to warn before a tab with unsaved text is closed', async () => {
    render(<TicketForm mode="new" onSubmit={() => {}} />);
    const before = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(before);
    expect(before.defaultPrevented).toBe(false);
    await userEvent.type(screen.getByTestId('form-title'), 'x');
    const after = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(after);
    expect(after.defaultPrevented).toBe(true);
  });
});

describe('layout', () => {
  it('a never-generated draft has no provider badge; the placeholder names a real folder', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    act(() => feed(aec('draft', { generationState: runState({ status: 'cancelled', cancelReason: 'edit' }) })));
    expect(screen.queryByTestId('offline-label')).not.toBeInTheDocument();
    expect(screen.getByTestId('form-repo')).toHaveAttribute('placeholder', 'https://github.com/acme/shop.git');
  });

  it('puts the questions above a folded step list, and the ticket above a folded request', () => {
    const { unmount } = render(<TicketView aecId="aec-1" uid="user-1" />);
    act(() => feed(aec('awaiting_answers')));
    const wizard = screen.getByTestId('questions-wizard');
    const progress = screen.getByTestId('generation-progress');
    expect(wizard.compareDocumentPosition(progress) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(screen.getByTestId('progress-toggle')).toHaveAttribute('aria-expanded', 'false');
    unmount();
    store().open(null, 'user-1');
    render(<TicketView aecId="aec-1" uid="user-1" />);
    act(() => feed(aec('ready')));
    const ready = screen.getByTestId('ticket-ready');
    const editor = screen.getByTestId('request-editor');
    expect(ready.compareDocumentPosition(editor) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(editor).not.toHaveAttribute('open');
  });
});

describe('a ready ticket', () => {
  const ready = () => aec('ready', { findings: SETTLED, decisions: ['“fast” means under 2 s.'] });

  it('keeps its request editor unfolded when a new version of the ticket arrives', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    act(() => feed(aec('ready', { version: 7 })));
    await userEvent.click(screen.getByTestId('request-editor-toggle'));
    expect(screen.getByTestId('request-editor')).toHaveAttribute('open');
    act(() => feed(aec('ready', { version: 8 })));
    expect(screen.getByTestId('request-editor')).toHaveAttribute('open');
    expect(screen.getByTestId('edit-repo')).toBeVisible();
    await userEvent.click(screen.getByTestId('request-editor-toggle'));
    act(() => feed(aec('ready', { version: 9 })));
    expect(screen.getByTestId('request-editor')).not.toHaveAttribute('open');
  });

  it('copies as Markdown with its criteria, decisions and settled findings', () => {
    const md = ticketMarkdown(ready());
    expect(md).toMatch(/^# Export orders as CSV\n/);
    expect(md).toContain('## Acceptance criteria\n\n1. Admins can export orders as CSV\n2. Export');
    expect(md).toContain('## Decisions\n\n- “fast” means under 2 s.');
    expect(md).toContain('- **critical, acknowledged**: The request refers to the file `a.py`');
    expect(md).toContain('**Answer:** CSV');
    expect(md).toContain('Generated by offline heuristics (no AI).');
    const json = ticketJson(ready());
    expect(json).not.toHaveProperty('generationState');
    expect(json).not.toHaveProperty('locked');
    expect(json.decisions).toEqual(['“fast” means under 2 s.']);
  });

  it('changes its answers: a new run from the answers only', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    act(() => feed(ready()));
    await userEvent.click(screen.getByTestId('change-answers-button'));
    const input = screen.getByTestId('change-answer-q1');
    expect(input).toHaveValue('CSV');
    await userEvent.clear(input);
    await userEvent.type(input, 'CSV and JSON');
    await userEvent.click(screen.getByTestId('change-answers-submit'));
    expect(startGeneration).toHaveBeenCalledWith('aec-1', { q1: 'CSV and JSON' });
  });
});
