import { useEffect, useState } from 'react';
import { subscribeRepositories } from '../repositories';
import type { RepositoryDoc } from '../types';

export interface RepositoriesState {
  repos: RepositoryDoc[] | null;
  error: string | null;
}

/** The user's registrations, live: one listener per user, stopped on unmount. */
export function useRepositories(uid: string): RepositoriesState {
  const [state, setState] = useState<RepositoriesState>({ repos: null, error: null });
  useEffect(() => {
    setState({ repos: null, error: null });
    return subscribeRepositories(
      uid,
      (repos) => setState({ repos, error: null }),
      (e) => setState((s) => ({ repos: s.repos, error: e.message })),
    );
  }, [uid]);
  return state;
}
