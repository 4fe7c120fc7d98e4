import { useEffect, useState } from 'react';
import { onAuthStateChanged, signOut, type User } from 'firebase/auth';
import { NewTicket } from './components/NewTicket';
import { Repositories } from './components/Repositories';
import { SignIn } from './components/SignIn';
import { TicketList } from './components/TicketList';
import { TicketView } from './components/TicketView';
import { getAuthInstance } from './firebase';
import { useRoute } from './router';

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const route = useRoute();

  useEffect(() => onAuthStateChanged(getAuthInstance(), setUser), []);

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
            <button
              type="button"
              className="link"
              onClick={() => void signOut(getAuthInstance())}
              data-testid="signout"
            >
              Sign out
            </button>
          </span>
        )}
      </nav>
      <main className="content">
        {user === undefined && (
          <p className="muted" data-testid="auth-loading">
            Loading…
          </p>
        )}
        {user === null && <SignIn />}
        {user && route.name === 'list' && <TicketList uid={user.uid} />}
        {user && route.name === 'new' && (
          <NewTicket uid={user.uid} repo={route.repo} repoRef={route.ref} />
        )}
        {user && route.name === 'repos' && <Repositories uid={user.uid} />}
        {user && route.name === 'ticket' && <TicketView aecId={route.aecId} uid={user.uid} />}
      </main>
    </div>
  );
}
