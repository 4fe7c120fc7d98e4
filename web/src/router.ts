import { useEffect, useState } from 'react';

export type Route =
  | { name: 'list' }
  | { name: 'new'; repo?: string; ref?: string }
  | { name: 'repos' }
  | { name: 'ticket'; aecId: string };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const m = /^\/t\/([^/?#]+)/.exec(path);
  if (m) return { name: 'ticket', aecId: decodeURIComponent(m[1]) };
  if (path === '/repos') return { name: 'repos' };
  if (path === '/new' || path.startsWith('/new?')) {
    const params = new URLSearchParams(path.slice('/new'.length).replace(/^\?/, ''));
    const repo = params.get('repo') ?? undefined;
    const ref = params.get('ref') ?? undefined;
    return { name: 'new', ...(repo ? { repo } : {}), ...(ref ? { ref } : {}) };
  }
  return { name: 'list' };
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case 'ticket':
      return `#/t/${encodeURIComponent(route.aecId)}`;
    case 'new': {
      const params = new URLSearchParams();
      if (route.repo) params.set('repo', route.repo);
      if (route.ref) params.set('ref', route.ref);
      const q = params.toString();
      return q ? `#/new?${q}` : '#/new';
    }
    case 'repos':
      return '#/repos';
    default:
      return '#/';
  }
}

export function navigate(route: Route): void {
  window.location.hash = hrefFor(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
