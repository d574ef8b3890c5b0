import type { StipendContext } from '../context.js';
import type { Logger } from '../log.js';
import type { People } from '../people/people.js';
import type { Sessions } from '../people/sessions.js';

/** What every console page is built from: the same programmatic API the CLI uses, and the people. */
export interface ConsoleDeps {
  context: StipendContext;
  people: People;
  sessions: Sessions;
  log: Logger;
  /** Where uploaded manifests wait, private to this program, between their validation and their submission. */
  uploadsDir: string;
}
