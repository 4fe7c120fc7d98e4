import type { TicketInput } from '../tickets';

/** Whether `input` names another repository (or ref) than the ticket has. */
export function repositoryChanged(
  t: { repo?: string | null; repoRef?: string | null },
  input: TicketInput,
): boolean {
  const ref = input.repo.trim() ? (input.repoRef ?? '').trim() : '';
  return input.repo.trim() !== (t.repo ?? '').trim() || ref !== (t.repoRef ?? '').trim();
}
