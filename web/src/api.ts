/** The HTTP functions the page calls: `start_generation` and `register_repository`. */
import { getConfig } from './config';
import { currentIdToken } from './firebase';
import type { RepositoryDoc } from './types';

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function errorFrom(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = `Request failed (${res.status} ${res.statusText || 'error'})`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body?.error?.message) message = body.error.message;
    if (body?.error?.code) code = body.error.code;
  } catch {
    // not JSON: keep the generic message
  }
  return new ApiError(res.status, code, message);
}

/** `POST {functionsUrl}/{fn}` with the user's ID token; the response, or an ApiError. */
async function post(fn: string, body: unknown, service: string): Promise<Response> {
  const token = await currentIdToken();
  const url = `${getConfig().functionsUrl}/${fn}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'network', `Could not reach the ${service}: ${String(e)}`);
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

/**
 * `POST {functionsUrl}/start_generation` → the new run id (202). With `answers`, the
 * answers of a ready ticket change: the new run refines from step 10, keeping the
 * recorded steps 1-9 of the last run.
 */
export async function startGeneration(
  aecId: string,
  answers?: Record<string, string>,
): Promise<string> {
  const res = await post(
    'start_generation',
    answers ? { aecId, answers } : { aecId },
    'generation service',
  );
  try {
    const body = (await res.json()) as { runId?: string };
    return body.runId ?? '';
  } catch {
    return '';
  }
}

/**
 * `POST {functionsUrl}/register_repository`: register a git URL (and ref) for the
 * user and start indexing it, or, with `repoId`, index one of theirs again (a new
 * commit on its branch, or a failed index retried). Resolves to the registration as
 * the repositories view shows it.
 */
export async function registerRepository(
  target: { url: string; ref?: string | null } | { repoId: string },
): Promise<RepositoryDoc> {
  const body =
    'repoId' in target
      ? { repoId: target.repoId }
      : { url: target.url.trim(), ...(target.ref?.trim() ? { ref: target.ref.trim() } : {}) };
  const res = await post('register_repository', body, 'repository service');
  const json = (await res.json()) as { repository: RepositoryDoc };
  return json.repository;
}

/**
 * Check the repository of a ticket's request before the request is saved: a URL is
 * registered for the person (which starts its index, as the ticket would), and
 * `register_repository` refuses, with the reason, one that names no git repository
 * it can read (a misspelt URL, an unknown ref, no scheme). Resolves to the refusal in
 * words, or `null` when the repository is usable (or none is named, or the check
 * itself could not be made: then the start of the run reports the service's error).
 * Nothing of the ticket is written before this says yes.
 */
export async function repositoryRefusal(
  url: string,
  ref?: string | null,
): Promise<string | null> {
  if (!url.trim()) return null;
  try {
    await registerRepository({ url, ref });
    return null;
  } catch (e) {
    // A refusal (4xx) is about the repository; a service that fails or cannot be
    // reached is not: the ticket is saved and its start says what went wrong.
    if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
      return `Repository not usable: ${e.message}`;
    }
    return null;
  }
}
