import { StipendError } from '../errors.js';

/** A card command the provider refused, or one that stopped to protect a participant's money. */
export class CardCommandError extends StipendError {}
