import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A CT Payer manifest of `rows` valid, distinct payments, written once per size into `dir` and
 * kept for later runs. Card ids cycle through the sandbox's ACTIVE cards, so the same file can be
 * paid through the sandbox too.
 */
export async function ctpayerManifest(dir: string, rows: number): Promise<string> {
  const file = join(dir, `ctpayer-${rows}.csv`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const partial = `${file}.part`;
  const out = createWriteStream(partial);
  out.write('payment_id,cardId,amount,description,groupId,participant_id\n');
  for (let i = 1; i <= rows; i += 1) {
    const card = 1_000_000_001 + (i % 20);
    const line = `B-${String(i).padStart(8, '0')},${card},${(i % 50) + 1}.${String(i % 100).padStart(2, '0')},Visit ${i % 12} stipend,SITE-${i % 40},P-${i % 5000}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await rename(partial, file);
  return file;
}
