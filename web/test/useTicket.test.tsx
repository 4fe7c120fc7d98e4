import { act, renderHook } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../src/actions', () => ({ writeAction: vi.fn(), watchActionResult: vi.fn() }));
vi.mock('../src/api', () => ({ startGeneration: vi.fn() }));
vi.mock('../src/tickets', () => ({ subscribeTicket: vi.fn() }));

import { useTicket } from '../src/hooks/useTicket';
import { subscribeTicket } from '../src/tickets';
import type { AecDoc } from '../src/types';
import { useWorkflowStore } from '../src/workflow/store';
import { aec } from './fixtures';

interface Listener {
  aecId: string;
  onData: (doc: AecDoc | null) => void;
  onError: (e: Error) => void;
  unsubscribe: ReturnType<typeof vi.fn>;
}

let listeners: Listener[] = [];
const store = () => useWorkflowStore.getState();

beforeEach(() => {
  listeners = [];
  vi.mocked(subscribeTicket).mockReset().mockImplementation((aecId, onData, onError) => {
    const unsubscribe = vi.fn();
    listeners.push({ aecId, onData, onError, unsubscribe });
    return unsubscribe;
  });
  store().open(null);
});

function mount(aecId = 'aec-1', uid = 'user-1') {
  return renderHook((props: { aecId: string; uid: string }) => useTicket(props.aecId, props.uid), {
    initialProps: { aecId, uid },
  });
}

describe('useTicket', () => {
  it('starts one listener, feeds the store, and stops it on unmount', () => {
    const view = mount();
    expect(listeners).toHaveLength(1);
    expect(listeners[0].aecId).toBe('aec-1');
    act(() => listeners[0].onData(aec('generating')));
    expect(store().status).toBe('generating');
    expect(store().viewer).toBe('user-1');
    view.unmount();
    expect(listeners[0].unsubscribe).toHaveBeenCalledTimes(1);
  });

  it('reports a deleted ticket as missing', () => {
    mount();
    act(() => listeners[0].onData(null));
    expect(store().missing).toBe(true);
  });

  it('returns the listener error', () => {
    const view = mount();
    expect(view.result.current.loadError).toBeNull();
    act(() => listeners[0].onError(new Error('Missing or insufficient permissions.')));
    expect(view.result.current.loadError).toBe('Missing or insufficient permissions.');
  });

  it('replaces the listener for another ticket and ignores the old one', () => {
    const view = mount();
    act(() => listeners[0].onError(new Error('old failure')));
    view.rerender({ aecId: 'aec-2', uid: 'user-1' });
    expect(listeners[0].unsubscribe).toHaveBeenCalledTimes(1);
    expect(listeners).toHaveLength(2);
    expect(listeners[1].aecId).toBe('aec-2');
    expect(view.result.current.loadError).toBeNull();
    act(() => {
      listeners[0].onData(aec('ready'));
      listeners[0].onError(new Error('late'));
    });
    expect(store().aecId).toBe('aec-2');
    expect(store().aec).toBeNull();
    expect(view.result.current.loadError).toBeNull();
    act(() => listeners[1].onData(aec('draft', { id: 'aec-2' })));
    expect(store().status).toBe('draft');
  });

  it("on a user switch, drops the previous user's ticket and listens again", () => {
    const view = mount();
    act(() => listeners[0].onData(aec('ready')));
    expect(store().aec?.title).toBe('Export orders as CSV');
    view.rerender({ aecId: 'aec-1', uid: 'user-2' });
    expect(listeners[0].unsubscribe).toHaveBeenCalledTimes(1);
    expect(listeners).toHaveLength(2);
    expect(store().viewer).toBe('user-2');
    expect(store().aec).toBeNull();
    act(() => listeners[1].onError(new Error('Missing or insufficient permissions.')));
    expect(view.result.current.loadError).toBe('Missing or insufficient permissions.');
  });

  it("a remount for another user never shows the previous user's ticket", () => {
    const first = mount();
    act(() => listeners[0].onData(aec('ready')));
    first.unmount(); // signed out: the page shows the sign-in screen
    mount('aec-1', 'user-2');
    expect(store().aec).toBeNull();
    expect(store().status).toBeNull();
  });

  it('keeps what was started for the same ticket and user before mounting', () => {
    store().open('aec-1', 'user-1');
    useWorkflowStore.setState({ starting: true });
    mount();
    expect(store().starting).toBe(true);
  });

  it('ignores a snapshot that arrives after unmount', () => {
    const view = mount();
    act(() => listeners[0].onData(aec('generating')));
    view.unmount();
    act(() => listeners[0].onData(aec('ready', { version: 9 })));
    expect(store().status).toBe('generating');
  });
});
