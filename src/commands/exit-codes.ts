/**
 * The exit codes of `stipend`, the contract a scheduler acts on (README "Exit codes"). Kept in a
 * module of its own, with no imports, so `stipend --help` loads nothing else.
 */
export const EXIT = {
  /** Done: for `run` and `retry`, every row is paid or declined. */
  ok: 0,
  /** The manifest was rejected (nothing queued), or the demo did not reconcile. */
  rejected: 1,
  /** A usage, configuration or environment problem (one line, no stack trace). */
  usage: 2,
  /** `run`: the batch awaits approval by someone other than its submitter. */
  awaitingApproval: 3,
  /** `run`/`retry`: --max-wait passed first; the payments not final stay queued. */
  maxWait: 4,
  /** `run`/`retry`: settled, but some rows failed with nothing applied (`stipend retry` may pay them). */
  someFailed: 5,
  /** `run`/`retry`: settled, but some rows need a person (unknown, reversal unknown, conflicting answer). */
  needsPerson: 6,
  /** A fault of the program itself (a bug, or a library failing unexpectedly): its stack on stderr, secrets masked. */
  internal: 70,
  /** Stopped waiting on Ctrl-C or SIGTERM; the batch goes on in the workers. */
  interrupted: 130,
} as const;
