import { useState } from 'react';
import { ApiError, registerRepository } from '../api';
import { getConfig } from '../config';
import { useRepositories } from '../hooks/useRepositories';
import { IndexSummary } from './RepositoryStatus';

function message(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * The bundled sample repository, when this deployment offers one (`ticketflow dev`
 * names it in `config.js`): "Use the sample repository" registers it for the
 * signed-in person (the normal index task builds its index, shown live here) and
 * hands its URL to `onUse` (the new-ticket form fills its repository field with it).
 */
export function SampleOffer({ uid, onUse }: { uid: string; onUse?(url: string): void }) {
  const url = getConfig().sampleRepository;
  return url ? <SampleCard url={url} uid={uid} onUse={onUse} /> : null;
}

function SampleCard({ url, uid, onUse }: { url: string; uid: string; onUse?(url: string): void }) {
  const { repos } = useRepositories(uid);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const registered = repos?.find((r) => r.url === url) ?? null;

  async function use() {
    setBusy(true);
    setError(null);
    try {
      await registerRepository({ url });
      onUse?.(url);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div
      className="card sample-offer"
      data-testid="sample-offer"
      data-state={registered?.index?.state ?? 'none'}
    >
      <p>
        Try ticketflow on the bundled sample repository (a small invoicing app):{' '}
        <code data-testid="sample-url">{url}</code>
      </p>
      {registered && <IndexSummary index={registered.index} />}
      {error && (
        <p className="form-error" role="alert" data-testid="sample-error">
          {error}
        </p>
      )}
      <div className="buttons">
        <button type="button" onClick={() => void use()} disabled={busy} data-testid="sample-use">
          {busy ? 'Registering…' : 'Use the sample repository'}
        </button>
      </div>
    </div>
  );
}
