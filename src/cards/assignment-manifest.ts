import { z } from 'zod';
import type { TableSpec } from '../manifest/table.js';
import { digits, required, text, withoutCardNumbers } from '../providers/field-rules.js';
import { columnsOf } from '../providers/manifest-spec.js';

/** A CT Payer card assignment manifest: which card goes to which participant (assigncard's limits). */
const assignment = z.object({
  cardId: required(digits({ length: 10 })),
  participantId: required(text({ max: 40 })),
});
export type CardAssignment = z.infer<typeof assignment>;

export const assignmentManifest: TableSpec<CardAssignment> = {
  kind: 'card assignment manifests',
  columns: columnsOf(assignment),
  row: assignment,
  // One card assigned twice in a file is a mistake whichever participant is meant.
  keyColumn: 'cardId',
};

/** setcardstatus's inputs, checked before anything is sent; the reason goes to CT Payer. */
export const cancellation = z.object({
  cardId: required(digits({ length: 10 })),
  reason: required(withoutCardNumbers(text({ max: 45 }))),
});
