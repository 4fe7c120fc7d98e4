/**
 * Where the page finds Firebase and the HTTP functions.
 *
 * Build-time values come from `import.meta.env` (VITE_* variables); a runtime
 * object `window.__TICKETFLOW_CONFIG__` (set by the optional `/config.js`) overrides
 * them, so a built page can be pointed at emulators on any port without a rebuild.
 */

export interface RuntimeConfig {
  projectId?: string;
  apiKey?: string;
  authDomain?: string;
  appId?: string;
  /** Connect to the Firestore and Auth emulators. */
  useEmulators?: boolean | string;
  /** `host:port` of the Firestore emulator. */
  firestoreEmulator?: string;
  /** `http://host:port` of the Auth emulator. */
  authEmulator?: string;
  /** Base URL of the HTTP functions, e.g. `http://127.0.0.1:8090`. */
  functionsUrl?: string;
  /** A git URL the page offers as "Use the sample repository" (`ticketflow dev` sets it). */
  sampleRepository?: string;
}

export interface AppConfig {
  firebase: { apiKey: string; authDomain: string; projectId: string; appId?: string };
  useEmulators: boolean;
  firestoreEmulator: { host: string; port: number } | null;
  authEmulatorUrl: string | null;
  functionsUrl: string;
  sampleRepository: string | null;
}

export const DEFAULT_PROJECT_ID = 'demo-ticketflow';
const DEFAULT_FIRESTORE_EMULATOR = '127.0.0.1:8080';
const DEFAULT_AUTH_EMULATOR = 'http://127.0.0.1:9099';

type Env = Record<string, string | boolean | undefined>;

function truthy(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') return false;
  return ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

export function parseHostPort(value: string): { host: string; port: number } {
  const cleaned = value.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  const idx = cleaned.lastIndexOf(':');
  if (idx <= 0) throw new Error(`expected host:port, got "${value}"`);
  const host = cleaned.slice(0, idx).replace(/^\[|\]$/g, '');
  const port = Number(cleaned.slice(idx + 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bad port in "${value}"`);
  return { host, port };
}

/** Merge build-time env and the runtime object (runtime wins). Pure, for tests. */
export function resolveConfig(env: Env, runtime?: RuntimeConfig | null): AppConfig {
  const rt = runtime ?? {};
  const projectId = str(rt.projectId) ?? str(env.VITE_FIREBASE_PROJECT_ID) ?? DEFAULT_PROJECT_ID;
  const firestoreEmu = str(rt.firestoreEmulator) ?? str(env.VITE_EMULATOR_FIRESTORE);
  const authEmu = str(rt.authEmulator) ?? str(env.VITE_EMULATOR_AUTH);
  const useEmulators =
    rt.useEmulators !== undefined
      ? truthy(rt.useEmulators)
      : truthy(env.VITE_USE_EMULATORS) || Boolean(rt.firestoreEmulator || rt.authEmulator);
  const functionsUrl = (
    str(rt.functionsUrl) ?? str(env.VITE_FUNCTIONS_URL) ?? ''
  ).replace(/\/+$/, '');

  let authUrl: string | null = null;
  if (useEmulators) {
    authUrl = authEmu ?? DEFAULT_AUTH_EMULATOR;
    if (!/^https?:\/\//.test(authUrl)) authUrl = `http://${authUrl}`;
  }
  return {
    firebase: {
      apiKey: str(rt.apiKey) ?? str(env.VITE_FIREBASE_API_KEY) ?? 'demo-api-key',
      authDomain:
        str(rt.authDomain) ?? str(env.VITE_FIREBASE_AUTH_DOMAIN) ?? `${projectId}.firebaseapp.com`,
      projectId,
      appId: str(rt.appId) ?? str(env.VITE_FIREBASE_APP_ID),
    },
    useEmulators,
    firestoreEmulator: useEmulators
      ? parseHostPort(firestoreEmu ?? DEFAULT_FIRESTORE_EMULATOR)
      : null,
    authEmulatorUrl: authUrl,
    functionsUrl,
    sampleRepository: str(rt.sampleRepository) ?? str(env.VITE_SAMPLE_REPOSITORY) ?? null,
  };
}

declare global {
  interface Window {
    __TICKETFLOW_CONFIG__?: RuntimeConfig;
  }
}

let cached: AppConfig | null = null;

/** The configuration of this page (computed once). */
export function getConfig(): AppConfig {
  if (!cached) {
    const runtime = typeof window !== 'undefined' ? window.__TICKETFLOW_CONFIG__ : undefined;
    cached = resolveConfig(import.meta.env as unknown as Env, runtime);
  }
  return cached;
}
