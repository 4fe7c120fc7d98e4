import { lazy, Suspense, useEffect, useState } from 'react';
import { onAuthStateChanged, signOut, type User } from 'firebase/auth';
import { SignIn } from './components/SignIn';
import { getAuthInstance } from './firebase';
import { useRoute } from './router';
import { userChanged } from './session';
import { hasUnsavedEdits } from './workflow/unsaved';

const SignedIn = lazy(() => import('./SignedIn'));

const loading = (
  <p className="muted" data-testid="auth-loading">
    Loading…
  </p>
);

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const route = useRoute();

  // Stores of the previous user are cleared before the next render (see session.ts).
  useEffect(
    () =>
      onAuthStateChanged(getAuthInstance(), (next) => {
        userChanged(next?.uid ?? null);
        setUser(next);
      }),
    [],
  );

  function signOutNow() {
    if (hasUnsavedEdits() && !window.confirm('Sign out and drop your unsaved edits?')) return;
    void signOut(getAuthInstance());
  }

  return (
    <div className="app">
      <nav className="topbar">
        <a href="#/" className="brand">
          ticketflow
        </a>
        {user && (
          <a href="#/repos" className="nav-link" data-testid="nav-repos">
            Repositories
          </a>
        )}
        {user && (
          <span className="user">
            <span data-testid="user-id" data-uid={user.uid}>
              {user.isAnonymous ? 'Guest' : (user.email ?? user.uid)}
            </span>
            <button type="button" className="link" onClick={signOutNow} data-testid="signout">
              Sign out
            </button>
          </span>
        )}
      </nav>
      <main className="content">
        {user === undefined && loading}
        {user === null && <SignIn />}
        {user && (
          <Suspense fallback={loading}>
            <SignedIn key={user.uid} uid={user.uid} route={route} />
          </Suspense>
        )}
      </main>
    </div>
  );
}
