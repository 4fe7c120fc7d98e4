/**
 * Everything a signed-in person sees: the ticket list, a new ticket, one ticket, the
 * repositories. It
 * is its own chunk (with Firestore), loaded once someone is signed in, so the first
 * screen, sign-in, loads without it.
 */
import type { Route } from './router';
import { NewTicket } from './components/NewTicket';
import { Repositories } from './components/Repositories';
import { TicketList } from './components/TicketList';
import { TicketView } from './components/TicketView';

export default function SignedIn({ uid, route }: { uid: string; route: Route }) {
  if (route.name === 'new') return <NewTicket uid={uid} repo={route.repo} repoRef={route.ref} />;
  if (route.name === 'repos') return <Repositories uid={uid} />;
  if (route.name === 'ticket') return <TicketView aecId={route.aecId} uid={uid} />;
  return <TicketList uid={uid} />;
}
