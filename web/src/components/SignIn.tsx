import { useState, type FormEvent } from 'react';
import {
  createUserWithEmailAndPassword,
  signInAnonymously,
  signInWithEmailAndPassword,
} from 'firebase/auth';
import { getAuthInstance } from '../firebase';

function message(e: unknown): string {
  const code = (e as { code?: string })?.code ?? '';
  switch (code) {
    case 'auth/invalid-credential':
    case 'auth/wrong-password':
    case 'auth/user-not-found':
      return 'Wrong email or password.';
    case 'auth/email-already-in-use':
      return 'An account with this email already exists: sign in instead.';
    case 'auth/weak-password':
      return 'The password must have at least 6 characters.';
    case 'auth/invalid-email':
      return 'That email address is not valid.';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

/** Email / password (sign in or create an account) and anonymous sign-in. */
export function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run(fn: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(message(e));
      setBusy(false);
    }
  }

  function signIn(e: FormEvent) {
    e.preventDefault();
    void run(() => signInWithEmailAndPassword(getAuthInstance(), email, password));
  }

  return (
    <section className="card signin" data-testid="signin">
      <h1>Sign in to ticketflow</h1>
      <form onSubmit={signIn}>
        <label className="field">
          <span>Email</span>
          <input
            type="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
            data-testid="signin-email"
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            data-testid="signin-password"
          />
        </label>
        {error && (
          <p className="form-error" role="alert" data-testid="signin-error">
            {error}
          </p>
        )}
        <div className="buttons">
          <button type="submit" className="primary" disabled={busy} data-testid="signin-submit">
            Sign in
          </button>
          <button
            type="button"
            disabled={busy || !email || !password}
            onClick={() =>
              void run(() => createUserWithEmailAndPassword(getAuthInstance(), email, password))
            }
            data-testid="signup-submit"
          >
            Create account
          </button>
        </div>
      </form>
      <hr />
      <button
        type="button"
        disabled={busy}
        onClick={() => void run(() => signInAnonymously(getAuthInstance()))}
        data-testid="signin-anonymous"
      >
        Continue without an account
      </button>
    </section>
  );
}
