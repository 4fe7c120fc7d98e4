import { act, render, screen } from '@testing-library/react';
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
  getDb: vi.fn(),
  getAuthInstance: vi.fn(),
  currentUid: () => 'user-1',
  currentIdToken: async () => 'token',
}));

import { TicketGenerationProgress } from '../src/components/TicketGenerationProgress';
import { TicketView } from '../src/components/TicketView';
import { subscribeTicket } from '../src/tickets';
import type { AecDoc } from '../src/types';
import { useWorkflowStore } from '../src/workflow/store';
import { aec, runState, steps } from './fixtures';

const store = () => useWorkflowStore.getState();

function show(doc: AecDoc) {
  store().open(doc.id);
  store().ingest(doc);
}

let push: (doc: AecDoc | null) => void;

beforeEach(() => {
  store().open(null);
  vi.mocked(subscribeTicket).mockReset().mockImplementation((_id, onData) => {
    push = (d) => act(() => onData(d));
    return () => {};
  });
});

describe('steps produced by the offline fallback', () => {
  it('labels each fallback step in the progress list, and only those', () => {
    const rows = steps(['degraded', 'degraded', 'done', 'done', 'done', 'skipped', 'running',
      'waiting', 'waiting', 'waiting', 'waiting']);
    rows[0] = { ...rows[0], fallback: true, detail: 'goal: x (offline fallback, no AI)' };
    rows[1] = { ...rows[1], fallback: true };
    show(aec('generating', { generationState: runState({ currentStep: 7, steps: rows }) }));
    render(<TicketGenerationProgress />);
    const list = screen.getAllByTestId('step-row');
    expect(list[0]).toHaveAttribute('data-fallback', 'true');
    expect(list[1]).toHaveAttribute('data-fallback', 'true');
    expect(list[2]).not.toHaveAttribute('data-fallback');
    const badges = screen.getAllByTestId('step-fallback');
    expect(badges).toHaveLength(2);
    expect(badges[0]).toHaveTextContent('offline fallback (no AI)');
  });

  it('says on the ready ticket which steps had no AI', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('ready', {
      generatedBy: { name: 'claude', offline: false, model: 'claude-sonnet-5-5' },
      generationState: runState({ status: 'completed', provider: null }),
      fallbackSteps: ['extract_intent', 'generate_draft'],
    }));
    expect(screen.getByTestId('fallback-steps')).toHaveTextContent(
      '2 steps without AI: extract_intent, generate_draft');
    expect(screen.getByTestId('provider-label')).toHaveTextContent('claude');
  });

  it('shows no fallback label when every step used the model', () => {
    render(<TicketView aecId="aec-1" uid="user-1" />);
    push(aec('ready', { generatedBy: { name: 'claude', offline: false, model: 'm' },
      generationState: runState({ status: 'completed', provider: null }) }));
    expect(screen.queryByTestId('fallback-steps')).not.toBeInTheDocument();
  });
});
