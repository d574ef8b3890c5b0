import type { RunningSandbox } from '../../src/sandbox/index.js';

/** What a CT Payer sandbox card holds, in cents, read from the sandbox itself rather than over the wire. */
export function ctPayerCardBalance(sandbox: RunningSandbox, cardId: string): number {
  const { accounts } = sandbox.state() as { accounts: { cards: { cardId: string; balanceCents: number }[] }[] };
  const card = accounts.flatMap((account) => account.cards).find((c) => c.cardId === cardId);
  if (!card) throw new Error(`the sandbox has no card ${cardId}`);
  return card.balanceCents;
}
