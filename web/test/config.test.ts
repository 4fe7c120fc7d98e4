import { describe, expect, it } from 'vitest';
import { parseHostPort, resolveConfig } from '../src/config';

describe('resolveConfig', () => {
  it('defaults to the demo project without emulators', () => {
    const c = resolveConfig({});
    expect(c.firebase.projectId).toBe('demo-ticketflow');
    expect(c.useEmulators).toBe(false);
    expect(c.firestoreEmulator).toBeNull();
    expect(c.authEmulatorUrl).toBeNull();
    expect(c.functionsUrl).toBe('');
  });

  it('reads the build-time env', () => {
    const c = resolveConfig({
      VITE_USE_EMULATORS: '1',
      VITE_EMULATOR_FIRESTORE: 'localhost:8181',
      VITE_EMULATOR_AUTH: 'http://localhost:9199',
      VITE_FUNCTIONS_URL: 'http://127.0.0.1:8090/',
      VITE_FIREBASE_PROJECT_ID: 'demo-x',
    });
    expect(c.useEmulators).toBe(true);
    expect(c.firestoreEmulator).toEqual({ host: 'localhost', port: 8181 });
    expect(c.authEmulatorUrl).toBe('http://localhost:9199');
    expect(c.functionsUrl).toBe('http://127.0.0.1:8090');
    expect(c.firebase.projectId).toBe('demo-x');
  });

  it('lets the runtime object override the env', () => {
    const c = resolveConfig(
      { VITE_USE_EMULATORS: '1', VITE_EMULATOR_FIRESTORE: 'localhost:8080', VITE_FUNCTIONS_URL: 'http://a' },
      { firestoreEmulator: '127.0.0.1:41234', authEmulator: '127.0.0.1:41235', functionsUrl: 'http://b:1' },
    );
    expect(c.firestoreEmulator).toEqual({ host: '127.0.0.1', port: 41234 });
    expect(c.authEmulatorUrl).toBe('http://127.0.0.1:41235');
    expect(c.functionsUrl).toBe('http://b:1');
  });

  it('turns emulators on when the runtime names one, and off when told', () => {
    expect(resolveConfig({}, { firestoreEmulator: '127.0.0.1:1' }).useEmulators).toBe(true);
    expect(resolveConfig({ VITE_USE_EMULATORS: '1' }, { useEmulators: false }).useEmulators).toBe(false);
  });

  it('offers a sample repository only when the runtime (or the build) names one', () => {
    expect(resolveConfig({}, {}).sampleRepository).toBeNull();
    expect(resolveConfig({}, { sampleRepository: ' file:///s/sample-repo ' }).sampleRepository).toBe(
      'file:///s/sample-repo',
    );
    expect(resolveConfig({ VITE_SAMPLE_REPOSITORY: 'https://x/s.git' }, {}).sampleRepository).toBe(
      'https://x/s.git',
    );
  });

  it('parses host:port', () => {
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(() => parseHostPort('nope')).toThrow();
  });
});
