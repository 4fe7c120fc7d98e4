/** The HTTP functions: only `start_generation` is called from the page. */
import { getConfig } from './config';
import { currentIdToken } from './firebase';

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

/**
 * `POST {functionsUrl}/start_generation` → the new run id (202). With `answers`, the
 * answers of a ready ticket change: the new run refines from step 10, keeping the
 * recorded steps 1-9 of the last run.
 */
export async function startGeneration(
  aecId: string,
  answers?: Record<string, string>,
): Promise<string> {
  const token = await currentIdToken();
  const url = `${getConfig().functionsUrl}/start_generation`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(answers ? { aecId, answers } : { aecId }),
    });
  } catch (e) {
    throw new ApiError(0, 'network', `Could not reach the generation service: ${String(e)}`);
  }
  if (!res.ok) throw await errorFrom(res);
  try {
    const body = (await res.json()) as { runId?: string };
    return body.runId ?? '';
  } catch {
    return '';
  }
}
