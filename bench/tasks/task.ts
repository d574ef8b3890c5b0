/** A bench task: does its setup, calls start(), does the measured work, returns how many items. */
export type Task = (args: Record<string, unknown>, start: () => void) => Promise<{ items: number; extra?: Record<string, number> }>;
