import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../src/api', () => ({
  ApiError: class ApiError extends Error {
    constructor(
      public readonly status: number,
      public readonly code: string,
      message: string,
    ) {
      super(message);
    }
  },
  registerRepository: vi.fn(),
  startGeneration: vi.fn(),
}));
vi.mock('../src/repositories', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../src/repositories')>()),
  subscribeRepositories: vi.fn(),
}));
vi.mock('../src/firebase', () => ({
  getFirebase: vi.fn(),
  getDb: vi.fn(),
  getAuthInstance: vi.fn(),
  currentUid: () => 'user-1',
  currentIdToken: async () => 'token',
}));

import { ApiError, registerRepository } from '../src/api';
import { Repositories } from '../src/components/Repositories';
import { TicketRepository } from '../src/components/RepositoryStatus';
import { byNewest, repositoryFromSnapshot, subscribeRepositories } from '../src/repositories';
import { hrefFor, parseHash } from '../src/router';
import type { RepositoryDoc } from '../src/types';

const HEAD = '3f2a9c1d0e4b5a6978877665544332211ffeedd0';

function repo(overrides: Partial<RepositoryDoc> = {}): RepositoryDoc {
  return {
    repoId: 'repo-1',
    ownerId: 'user-1',
    url: 'https://example.org/acme/shop.git',
    ref: null,
    kind: 'git',
    createdAt: '2026-01-01T00:00:00.000Z',
    seq: 1,
    index: { indexId: 'ix-1', commit: HEAD, state: 'queued', filesDone: 0, filesTotal: 0 },
    ...overrides,
  };
}

let push: (repos: RepositoryDoc[]) => void = () => undefined;
const unsubscribe = vi.fn();

beforeEach(() => {
  unsubscribe.mockReset();
  vi.mocked(registerRepository).mockReset();
  vi.mocked(subscribeRepositories).mockReset().mockImplementation((_uid, onData) => {
    push = (repos) => act(() => onData(repos));
    return unsubscribe;
  });
});

describe('Repositories', () => {
  it('lists the user\'s repositories with live index state and progress', () => {
    const { unmount } = render(<Repositories uid="user-1" />);
    expect(screen.getByTestId('repos-loading')).toBeInTheDocument();
    push([repo()]);
    const row = screen.getByTestId('repo-row');
    expect(row).toHaveAttribute('data-state', 'queued');
    expect(within(row).getByTestId('index-badge')).toHaveTextContent('Queued');
    expect(within(row).getByTestId('repo-reindex')).toBeDisabled();

    push([repo({ index: { indexId: 'ix-1', commit: HEAD, state: 'indexing', filesDone: 40,
                          filesTotal: 160 } })]);
    const progress = screen.getByTestId('index-progress');
    expect(progress).toHaveAttribute('data-done', '40');
    expect(progress).toHaveTextContent('40 / 160 files (25%)');

    push([repo({ index: { indexId: 'ix-1', commit: HEAD, state: 'ready', filesDone: 160,
                          filesTotal: 160, stats: { extracted: 2, copied: 158 } } })]);
    expect(screen.getByTestId('index-commit')).toHaveTextContent(HEAD.slice(0, 12));
    expect(screen.getByTestId('index-files')).toHaveTextContent('160 files (2 re-read, 158 unchanged)');
    expect(screen.getByTestId('repo-reindex')).toBeEnabled();
    expect(screen.getByTestId('repo-new-ticket')).toHaveAttribute(
      'href', '#/new?repo=https%3A%2F%2Fexample.org%2Facme%2Fshop.git');
    unmount();
    expect(unsubscribe).toHaveBeenCalledTimes(1);
  });

  it('shows why an index failed, and what it retries on', () => {
    render(<Repositories uid="user-1" />);
    push([
      repo({ repoId: 'a', index: { indexId: 'ix-a', state: 'failed',
                                   error: 'https://x/y.git is not a git repository (HTTP 404)' } }),
      repo({ repoId: 'b', index: { indexId: 'ix-b', state: 'queued',
                                   lastError: 'cannot reach https://x: timed out' } }),
    ]);
    expect(screen.getByTestId('index-error')).toHaveTextContent('is not a git repository');
    expect(screen.getByTestId('index-retrying')).toHaveTextContent('retrying: cannot reach');
  });

  it('registers a URL and ref, and re-indexes one registration', async () => {
    vi.mocked(registerRepository).mockResolvedValue(repo());
    render(<Repositories uid="user-1" />);
    push([repo({ index: { indexId: 'ix-1', commit: HEAD, state: 'ready' } })]);
    const user = userEvent.setup();
    await user.type(screen.getByTestId('repo-url'), 'https://example.org/acme/shop.git');
    await user.type(screen.getByTestId('repo-ref'), 'release');
    await user.click(screen.getByTestId('repo-register'));
    expect(registerRepository).toHaveBeenCalledWith({
      url: 'https://example.org/acme/shop.git', ref: 'release' });
    expect(screen.getByTestId('repo-notice')).toHaveTextContent('indexing it now');
    await user.click(screen.getByTestId('repo-reindex'));
    expect(registerRepository).toHaveBeenLastCalledWith({ repoId: 'repo-1' });
  });

  it('shows the function\'s refusal where the user typed', async () => {
    vi.mocked(registerRepository).mockRejectedValue(
      new ApiError(400, 'bad_repo_url', 'git@h:a/b.git: SSH and git:// URLs are not supported'));
    render(<Repositories uid="user-1" />);
    push([]);
    expect(screen.getByTestId('repos-empty')).toBeInTheDocument();
    const user = userEvent.setup();
    await user.type(screen.getByTestId('repo-url'), 'git@h:a/b.git');
    await user.click(screen.getByTestId('repo-register'));
    expect(screen.getByTestId('repo-form-error')).toHaveTextContent('SSH and git:// URLs are not supported');
  });
});

describe('a ticket\'s repository', () => {
  it('names the commit it was validated against', () => {
    render(<TicketRepository repo={{ url: 'https://h/r.git', ref: 'main', commit: HEAD,
                                     indexId: 'ix-1', status: 'ready' }} />);
    const line = screen.getByTestId('ticket-repository');
    expect(line).toHaveAttribute('data-commit', HEAD);
    expect(screen.getByTestId('ticket-commit')).toHaveTextContent(HEAD.slice(0, 12));
    expect(line).toHaveTextContent('(main)');
  });

  it('says when the index had failed', () => {
    render(<TicketRepository repo={{ url: 'https://h/r.git', status: 'failed',
                                     error: 'too large to index: 90,000 files' }} />);
    expect(screen.getByTestId('ticket-repository-error')).toHaveTextContent('too large');
  });
});

describe('routes and documents', () => {
  it('prefills a new ticket from the repositories page', () => {
    const route = parseHash('#/new?repo=https%3A%2F%2Fh%2Fr.git&ref=dev');
    expect(route).toEqual({ name: 'new', repo: 'https://h/r.git', ref: 'dev' });
    expect(parseHash(hrefFor(route))).toEqual(route);
    expect(parseHash('#/repos')).toEqual({ name: 'repos' });
  });

  it('reads a registration and refuses one of the wrong shape', () => {
    const snap = (data: Record<string, unknown>) => ({
      id: 'repo-1', ref: { path: 'repositories/repo-1' }, data: () => data });
    expect(repositoryFromSnapshot(snap({ ...repo() })).index?.state).toBe('queued');
    expect(() => repositoryFromSnapshot(snap({ ...repo(), index: { indexId: 'x', state: 'odd' } })))
      .toThrow(/index.state "odd" is not an index state/);
    expect(() => repositoryFromSnapshot(snap({ url: 'u' }))).toThrow(/repoId is missing/);
    const older = repo({ repoId: 'old', createdAt: '2025-01-01T00:00:00.000Z' });
    expect([older, repo()].sort(byNewest).map((r) => r.repoId)).toEqual(['repo-1', 'old']);
  });
});
