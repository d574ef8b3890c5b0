import { z } from 'zod';
import type { ManifestColumn, ManifestSpec } from './types.js';

/**
 * The manifest columns of a row schema, in its order: one per field, named as the field (the
 * provider's documented name), required unless the field is optional. Written once, in the schema.
 */
export function columnsOf(fields: z.ZodObject): ManifestColumn[] {
  return Object.entries(fields.shape).map(([name, schema]) => ({ name, required: !(schema instanceof z.ZodOptional) }));
}

/** A provider's manifest part from its row schema: the columns come from the schema's fields. */
export function manifestSpec<Shape extends z.ZodRawShape>(
  fields: z.ZodObject<Shape>,
  shown: Pick<ManifestSpec<z.infer<z.ZodObject<Shape>>>, 'payee' | 'group'>,
): ManifestSpec<z.infer<z.ZodObject<Shape>>> {
  return { columns: columnsOf(fields), row: fields, ...shown };
}
