import { expect, it } from 'vitest';
import { safeCell } from '../../src/reports/safe-cell.js';

it('neutralises every cell a spreadsheet would run as a formula', () => {
  for (const hostile of ['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx']) {
    expect(safeCell(hostile)).toBe(`'${hostile}`);
  }
  for (const plain of ['Visit 1 stipend', '12.50', 'a=b', '', '-12.50', '-1250']) expect(safeCell(plain)).toBe(plain);
  for (const hostile of ['-12.50+1', '-1e3', '-12.50 ', '-.5']) expect(safeCell(hostile)).toBe(`'${hostile}`);
});
