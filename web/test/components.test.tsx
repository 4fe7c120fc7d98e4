import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../src/actions', () => ({ writeAction: vi.fn(), watchActionResult: vi.fn() }));
vi.mock('../src/api', () => ({ startGeneration: vi.fn(), repositoryRefusal: vi.fn() }));
vi.mock('../src/tickets', () => ({
  subscribeTicket: vi.fn(),
  subscribeTickets: vi.fn(),
  createTicket: vi.fn(),
  updateTicket: vi.fn(),
}));
vi.mock('../src/firebase', () => ({
  getFirebase: vi.fn(),
  getDb: vi.fn(),
  getAuthInstance: vi.fn(),
  currentUid: () => 'user-1',
  currentIdToken: async () => 'token',
}));

import { watchActionResult, writeAction } from '../src/actions';
import { repositoryRefusal, startGeneration } from '../src/api';
import { FindingsReviewModal } from '../src/components/FindingsReviewModal';
import { NewTicket } from '../src/components/NewTicket';
import { QuestionsWizard } from '../src/components/QuestionsWizard';
import { TicketGenerationProgress } from '../src/components/TicketGenerationProgress';
import { TicketList } from '../src/components/TicketList';
import { TicketView } from '../src/components/TicketView';
import { createTicket, subscribeTicket, subscribeTickets, updateTicket } from '../src/tickets';
import type { AecDoc } from '../src/types';
import { useWorkflowStore } from '../src/workflow/store';
import { aec, runState, steps } from './fixtures';
import { resetActionMocks, watchers } from './mocks';

const write = vi.mocked(writeAction);
const watch = vi.mocked(watchActionResult);
const store = () => useWorkflowStore.getState();

function show(doc: AecDoc) {
  store().open(doc.id);
  store().ingest(doc);
}

beforeEach(() => {
  resetActionMocks(write, watch);
  vi.mocked(startGeneration).mockReset().mockResolvedValue('run-2');
  vi.mocked(updateTicket).mockReset().mockResolvedValue(undefined);
  vi.mocked(repositoryRefusal).mockReset().mockResolvedValue(null);
  store().open(null);
  window.location.hash = '';
});

describe('TicketGenerationProgress', () => {
  it('shows the 11 steps with their states', () => {
    const statuses = ['done', 'skipped', 'degraded', 'done', 'running', 'waiting', 'waiting', 'waiting', 'waiting', 'waiting', 'waiting'] as const;
    show(aec('generating', { generationState: runState({ currentStep: 5, steps: steps([...statuses]) }) }));
    render(<TicketGenerationProgress />);
    const rows = screen.getAllByTestId('step-row');
    expect(rows).toHaveLength(11);
    rows.forEach((row, i) => {
      expect(row).toHaveAttribute('data-step-index', String(i + 1));
      expect(row).toHaveAttribute('data-status', statuses[i]);
    });
    expect(rows[4]).toHaveAttribute('aria-current', 'step');
    expect(screen.getByTestId('step-detail')).toHaveTextContent('working on 5');
    expect(screen.getByTestId('current-step')).toHaveTextContent('Step 5 of 11');
    expect(screen.getByTestId('elapsed-time')).toHaveTextContent(/Elapsed \d+:\d\d/);
  });

  it('shows a failed step', () => {
    show(aec('failed'));
    render(<TicketGenerationProgress />);
    const row = screen.getAllByTestId('step-row')[3];
    expect(row).toHaveAttribute('data-status', 'failed');
    expect(screen.queryByTestId('progress-cancel')).not.toBeInTheDocument();
  });

  it('follows new snapshots live', () => {
    show(aec('generating'));
    render(<TicketGenerationProgress />);
    expect(screen.getAllByTestId('step-row')[2]).toHaveAttribute('data-status', 'running');
    act(() => {
      store().ingest(
        aec('generating', {
          generationState: runState({ seq: 6, currentStep: 4, steps: steps(['done', 'done', 'done', 'running', ...Array(7).fill('waiting')]) }),
        }),
      );
    });
    expect(screen.getAllByTestId('step-row')[2]).toHaveAttribute('data-status', 'done');
    expect(screen.getAllByTestId('step-row')[3]).toHaveAttribute('data-status', 'running');
  });

  it('Cancel writes an abort action', async () => {
    show(aec('generating'));
    render(<TicketGenerationProgress />);
    await userEvent.click(screen.getByTestId('progress-cancel'));
    expect(write).toHaveBeenCalledWith('aec-1', { type: 'abort', runId: 'run-1', token: '' });
  });
});

describe('FindingsReviewModal', () => {
  beforeEach(() => show(aec('awaiting_review')));

  it('lists findings critical first with badges, evidence and suggestion', () => {
    render(<FindingsReviewModal />);
    const modal = screen.getByTestId('findings-modal');
    expect(modal).toHaveAttribute('role', 'dialog');
    const rows = within(modal).getAllByTestId('finding-row');
    expect(rows[0]).toHaveAttribute('data-severity', 'critical');
    expect(within(rows[0]).getByTestId('severity-badge')).toHaveTextContent('critical');
    expect(rows[0]).toHaveTextContent('src/export/csv.py');
    expect(rows[0]).toHaveTextContent('Did you mean src/exports/csv_writer.py?');
    expect(screen.getByTestId('modal-proceed')).toHaveFocus();
  });

  it('Proceed writes a proceed action', async () => {
    render(<FindingsReviewModal />);
    await userEvent.click(screen.getByTestId('modal-proceed'));
    expect(write).toHaveBeenCalledWith('aec-1', { type: 'proceed', runId: 'run-1', token: 'tok-review' });
  });

  it('Edit writes an edit action', async () => {
    render(<FindingsReviewModal />);
    await userEvent.click(screen.getByTestId('modal-edit'));
    expect(write).toHaveBeenCalledWith('aec-1', { type: 'edit', runId: 'run-1', token: 'tok-review' });
  });

  it('Cancel asks for confirmation first', async () => {
    render(<FindingsReviewModal />);
    await userEvent.click(screen.getByTestId('modal-cancel'));
    expect(write).not.toHaveBeenCalled();
    expect(screen.getByTestId('confirm-cancel')).toBeInTheDocument();
    await userEvent.click(screen.getByTestId('confirm-cancel-no'));
    expect(screen.queryByTestId('confirm-cancel')).not.toBeInTheDocument();
    await userEvent.click(screen.getByTestId('modal-cancel'));
    expect(screen.getByTestId('confirm-cancel-yes')).toHaveFocus();
    await userEvent.click(screen.getByTestId('confirm-cancel-yes'));
    expect(write).toHaveBeenCalledWith('aec-1', { type: 'cancel', runId: 'run-1', token: 'tok-review' });
  });

  it('disables the buttons while an action is pending', async () => {
    render(<FindingsReviewModal />);
    await userEvent.click(screen.getByTestId('modal-proceed'));
    expect(screen.getByTestId('modal-proceed')).toBeDisabled();
    expect(screen.getByTestId('action-pending')).toBeInTheDocument();
  });
});

describe('QuestionsWizard', () => {
  beforeEach(() => show(aec('awaiting_answers')));

  it('shows one question at a time with the draft beside it', () => {
    render(<QuestionsWizard />);
    expect(screen.getByTestId('wizard-question')).toHaveAttribute('data-question-id', 'q1');
    expect(screen.getByTestId('wizard-progress')).toHaveTextContent('Question 1 of 3');
    expect(screen.getByTestId('wizard-draft')).toHaveTextContent('Admins can export orders');
    expect(screen.getByTestId('wizard-draft')).toHaveTextContent('CSV is enough');
    expect(screen.getByTestId('wizard-draft')).toHaveTextContent('src/orders/views.py');
    expect(screen.getByTestId('wizard-back')).toBeDisabled();
  });

  it('keeps answers when going back and next', async () => {
    const user = userEvent.setup();
    render(<QuestionsWizard />);
    await user.click(screen.getByTestId('wizard-choice-1'));
    expect(screen.getByTestId('wizard-answer-input')).toHaveValue('JSON');
    await user.click(screen.getByTestId('wizard-next'));
    expect(screen.getByTestId('wizard-question')).toHaveAttribute('data-question-id', 'q2');
    await user.type(screen.getByTestId('wizard-answer-input'), 'Admins only');
    await user.click(screen.getByTestId('wizard-back'));
    expect(screen.getByTestId('wizard-answer-input')).toHaveValue('JSON');
    expect(screen.getByTestId('wizard-choice-1')).toBeChecked();
    await user.click(screen.getByTestId('wizard-next'));
    expect(screen.getByTestId('wizard-answer-input')).toHaveValue('Admins only');
  });

  it('works with the keyboard alone: Enter = next, focus follows', async () => {
    const user = userEvent.setup();
    render(<QuestionsWizard />);
    // Tab into the first choice, pick with the arrow key
    await user.tab();
    expect(screen.getByTestId('wizard-choice-0')).toHaveFocus();
    await user.keyboard('{ArrowDown}');
    expect(screen.getByTestId('wizard-choice-1')).toBeChecked();
    await user.tab();
    expect(screen.getByTestId('wizard-answer-input')).toHaveFocus();
    await user.keyboard('{Enter}');
    expect(screen.getByTestId('wizard-question')).toHaveAttribute('data-question-id', 'q2');
    expect(screen.getByTestId('wizard-answer-input')).toHaveFocus();
    await user.keyboard('Admins{Enter}');
    expect(screen.getByTestId('wizard-question')).toHaveAttribute('data-question-id', 'q3');
    expect(screen.getByTestId('wizard-answer-input')).toHaveFocus();
    await user.keyboard('None{Enter}');
    expect(write).toHaveBeenCalledWith('aec-1', {
      type: 'answer',
      runId: 'run-1',
      token: 'tok-questions',
      answers: { q1: 'JSON', q2: 'Admins', q3: 'None' },
    });
  });

  it('has labelled inputs', () => {
    render(<QuestionsWizard />);
    expect(screen.getByLabelText('Your answer')).toBe(screen.getByTestId('wizard-answer-input'));
    expect(screen.getByLabelText('CSV')).toBe(screen.getByTestId('wizard-choice-0'));
    expect(screen.getByRole('group', { name: 'Which formats?' })).toBeInTheDocument();
  });

  it('Skip all writes a skip action', async () => {
    render(<QuestionsWizard />);
    await userEvent.click(screen.getByTestId('wizard-skip'));
    expect(write).toHaveBeenCalledWith('aec-1', { type: 'skip', runId: 'run-1', token: 'tok-questions' });
  });

  it('Submit from any question sends the answers so far', async () => {
    render(<QuestionsWizard />);
    await userEvent.type(screen.getByTestId('wizard-answer-input'), 'CSV');
    await userEvent.click(screen.getByTestId('wizard-submit'));
    expect(write).toHaveBeenCalledWith('aec-1', {
      type: 'answer',
      runId: 'run-1',
      token: 'tok-questions',
      answers: { q1: 'CSV' },
    });
  });
});

describe('TicketView', () => {
  let push: (doc: AecDoc | null) => void;

  beforeEach(() => {
    vi.mocked(subscribeTicket).mockReset().mockImplementation((_id, onData) => {
      push = (d) => act(() => onData(d));
      return () => {};
    });
  });

  it('shows the loading state until the first snapshot', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    expect(screen.getByTestId('ticket-loading')).toBeInTheDocument();
    push(aec('generating'));
    expect(screen.getByTestId('ticket-view')).toHaveAttribute('data-status', 'generating');
  });

  it('locks the content while generating', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('generating'));
    expect(screen.getByTestId('locked-note')).toBeInTheDocument();
    expect(screen.queryByTestId('edit-title')).not.toBeInTheDocument();
    expect(screen.queryByTestId('form-title')).not.toBeInTheDocument();
    expect(screen.getByTestId('generation-progress')).toBeInTheDocument();
    expect(screen.getByTestId('status-badge')).toHaveAttribute('data-status', 'generating');
  });

  it('labels offline content clearly', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('ready'));
    expect(screen.getByTestId('offline-label')).toHaveTextContent('offline heuristics (no AI)');
    expect(screen.getByTestId('ticket-ready')).toBeInTheDocument();
  });

  it('labels offline from the run provider while generating', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('generating'));
    expect(screen.getByTestId('offline-label')).toHaveTextContent('offline heuristics (no AI)');
  });

  it('does not call online generation offline', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    const online = { name: 'claude', offline: false, model: 'claude-x' };
    const doc = aec('ready', { generatedBy: online });
    doc.generationState = { ...doc.generationState!, provider: online };
    push(doc);
    expect(screen.queryByTestId('offline-label')).not.toBeInTheDocument();
    expect(screen.getByTestId('provider-label')).toHaveTextContent('claude (claude-x)');
  });

  it('shows the ready ticket with refinements and allows editing', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('ready'));
    expect(screen.getByTestId('acceptance-criteria')).toHaveTextContent('Export includes totals');
    expect(screen.getByTestId('assumptions')).toHaveTextContent('Only admins');
    expect(screen.getByTestId('repo-paths')).toHaveTextContent('src/orders/views.py');
    expect(screen.getByTestId('findings-list')).toBeInTheDocument();
    expect(screen.getByTestId('refinements')).toHaveTextContent('Which formats?');
    expect(screen.getByTestId('refinements')).toHaveTextContent('Limited the export to CSV');
    const title = screen.getByTestId('edit-title');
    expect(title).toBeEnabled();
    await userEvent.type(title, '!');
    await userEvent.click(screen.getByTestId('save-ticket'));
    expect(updateTicket).toHaveBeenCalledWith('aec-1', {
      title: 'Export orders as CSV!',
      description: 'Let admins export orders',
      repo: 'examples/shop',
      repoRef: '',
    });
  });

  it('changes the repository of a ready ticket, checked before anything is saved', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('failed'));
    const repo = screen.getByTestId('edit-repo');
    expect(repo).toBeEnabled();
    vi.mocked(repositoryRefusal).mockResolvedValueOnce('Repository not usable: no such path');
    await userEvent.clear(repo);
    await userEvent.type(repo, 'file:///nope');
    await userEvent.click(screen.getByTestId('save-ticket'));
    expect(repositoryRefusal).toHaveBeenCalledWith('file:///nope', '');
    expect(await screen.findByTestId('edit-error')).toHaveTextContent('no such path');
    expect(updateTicket).not.toHaveBeenCalled();
    await userEvent.clear(repo);
    await userEvent.type(repo, 'https://example.org/shop.git');
    await userEvent.click(screen.getByTestId('regenerate-button'));
    expect(updateTicket).toHaveBeenCalledWith('aec-1', {
      title: 'Export orders as CSV',
      description: 'Let admins export orders',
      repo: 'https://example.org/shop.git',
      repoRef: '',
    });
    expect(startGeneration).toHaveBeenCalledWith('aec-1');
    expect(screen.queryByTestId('edit-error')).toBeNull();
  });

  it('disables editing when the ticket is locked', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('ready', { locked: true, lockedBy: 'run-9' }));
    expect(screen.getByTestId('edit-title')).toBeDisabled();
    expect(screen.getByTestId('edit-description')).toBeDisabled();
    expect(screen.getByTestId('edit-repo')).toBeDisabled();
  });

  it('shows a failed run error and retries', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('failed'));
    expect(screen.getByTestId('error-banner')).toHaveTextContent('The repository could not be read');
    expect(screen.getByTestId('error-banner')).toHaveTextContent('step 4');
    await userEvent.click(screen.getByTestId('retry-button'));
    expect(startGeneration).toHaveBeenCalledWith('aec-1');
  });

  it('shows the API error of a refused start', async () => {
    vi.mocked(startGeneration).mockRejectedValueOnce(new Error('The ticket is locked by another run'));
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('failed'));
    await userEvent.click(screen.getByTestId('retry-button'));
    expect(screen.getByTestId('api-error')).toHaveTextContent('The ticket is locked by another run');
  });

  it('a draft is the prefilled form; saving starts generation again', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('draft', { generationState: runState({ status: 'cancelled', cancelReason: 'edit', seq: 10 }) }));
    expect(screen.getByTestId('ticket-form')).toHaveAttribute('data-mode', 'edit');
    expect(screen.getByTestId('form-title')).toHaveValue('Export orders as CSV');
    expect(screen.getByTestId('form-description')).toHaveValue('Let admins export orders');
    expect(screen.getByTestId('run-cancelled-note')).toBeInTheDocument();
    await userEvent.clear(screen.getByTestId('form-description'));
    await userEvent.type(screen.getByTestId('form-description'), 'Export to src/exports');
    await userEvent.click(screen.getByTestId('form-submit'));
    expect(updateTicket).toHaveBeenCalledWith('aec-1', {
      title: 'Export orders as CSV',
      description: 'Export to src/exports',
      repo: 'examples/shop',
      repoRef: '',
    });
    expect(startGeneration).toHaveBeenCalledWith('aec-1');
    expect(repositoryRefusal).not.toHaveBeenCalled(); // the repository did not change
  });

  it('a draft whose repository is changed to one that is refused stays as it was', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('draft'));
    vi.mocked(repositoryRefusal).mockResolvedValueOnce('Repository not usable: unknown ref');
    await userEvent.type(screen.getByTestId('form-repo-ref'), 'nope');
    await userEvent.click(screen.getByTestId('form-submit'));
    expect(repositoryRefusal).toHaveBeenCalledWith('examples/shop', 'nope');
    expect(await screen.findByTestId('form-error')).toHaveTextContent('unknown ref');
    expect(updateTicket).not.toHaveBeenCalled();
    expect(startGeneration).not.toHaveBeenCalled();
  });

  it('review → edit returns to the form when the server puts the ticket back to draft', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('awaiting_review'));
    await userEvent.click(screen.getByTestId('modal-edit'));
    watchers.get('action-1')!.onResult({ actionId: 'action-1', status: 'accepted' });
    push(aec('draft', { version: 4, generationState: runState({ status: 'cancelled', seq: 10 }) }));
    expect(screen.queryByTestId('findings-modal')).not.toBeInTheDocument();
    expect(screen.getByTestId('form-title')).toHaveValue('Export orders as CSV');
  });

  it('shows the reason of a rejected action', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('awaiting_review'));
    await userEvent.click(screen.getByTestId('modal-proceed'));
    act(() => watchers.get('action-1')!.onResult({ actionId: 'action-1', status: 'rejected', reason: 'the suspension has expired' }));
    expect(screen.getByTestId('action-rejection')).toHaveTextContent('the suspension has expired');
  });

  it('returns to the list after a confirmed cancel', async () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('awaiting_review'));
    window.location.hash = '#/t/aec-1';
    await userEvent.click(screen.getByTestId('modal-cancel'));
    await userEvent.click(screen.getByTestId('confirm-cancel-yes'));
    push(null);
    expect(window.location.hash).toBe('#/');
  });

  it('an older snapshot never moves the screen back', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('awaiting_answers'));
    push(aec('generating', { generationState: runState({ seq: 11 }) }));
    expect(screen.getByTestId('questions-wizard')).toBeInTheDocument();
    expect(screen.getByTestId('ticket-view')).toHaveAttribute('data-status', 'awaiting_answers');
  });
});

describe('TicketList', () => {
  it('lists tickets with status badges and links', () => {
    vi.mocked(subscribeTickets).mockImplementation((_uid, onData) => {
      onData([aec('ready'), aec('generating', { id: 'aec-2', title: 'Second' })]);
      return () => {};
    });
    render(<TicketList uid="user-1" />);
    const rows = screen.getAllByTestId('ticket-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveAttribute('data-status', 'ready');
    expect(within(rows[1]).getByTestId('status-badge')).toHaveTextContent('Generating');
    expect(within(rows[1]).getByRole('link')).toHaveAttribute('href', '#/t/aec-2');
    expect(within(rows[0]).getByTestId('offline-label')).toBeInTheDocument();
  });

  it('shows an empty list', () => {
    vi.mocked(subscribeTickets).mockImplementation((_uid, onData) => {
      onData([]);
      return () => {};
    });
    render(<TicketList uid="user-1" />);
    expect(screen.getByTestId('list-empty')).toBeInTheDocument();
  });
});

describe('NewTicket', () => {
  it('refuses a repository that cannot be used in the form, before any ticket exists', async () => {
    vi.mocked(createTicket).mockReset();
    vi.mocked(repositoryRefusal).mockResolvedValueOnce(
      'Repository not usable: https://x/wacth.git is not a git repository',
    );
    render(<NewTicket uid="user-1" />);
    await userEvent.type(screen.getByTestId('form-title'), 'Export');
    await userEvent.type(screen.getByTestId('form-repo'), 'https://x/wacth.git');
    await userEvent.click(screen.getByTestId('form-submit'));
    expect(await screen.findByTestId('form-error')).toHaveTextContent('is not a git repository');
    expect(screen.getByTestId('form-repo')).toHaveValue('https://x/wacth.git');
    expect(createTicket).not.toHaveBeenCalled();
  });
});
