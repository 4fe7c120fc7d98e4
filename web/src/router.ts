import { useEffect, useState } from 'react';

export type Route =
  | { name: 'list' }
  | { name: 'new' }
  | { name: 'ticket'; aecId: string };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const m = /^\/t\/([^/?#]+)/.exec(path);
  if (m) return { name: 'ticket', aecId: decodeURIComponent(m[1]) };
  if (path === '/new') return { name: 'new' };
  return { name: 'list' };
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case 'ticket':
      return `#/t/${encodeURIComponent(route.aecId)}`;
    case 'new':
      return '#/new';
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
