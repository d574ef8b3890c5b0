import { expect, it } from 'vitest';
import { parsePortBase } from '../../src/commands/sandbox.js';
import { UsageError } from '../../src/errors.js';
import { DEFAULT_SANDBOX_PORTS, sandboxPorts } from '../../src/sandbox/index.js';

/** Where `stipend sandbox` listens: the configuration without a file and the README depend on it. */

it('listens by default where it always has, CT Payer 4101 to VirtualRx 4105', () => {
  expect(DEFAULT_SANDBOX_PORTS).toEqual({ ctpayer: 4101, ptapi: 4102, ontraport: 4103, clientpay: 4104, virtualrx: 4105 });
});

it('puts provider i of the documented order on base + i', () => {
  expect(sandboxPorts(20_000)).toEqual({ ctpayer: 20_000, ptapi: 20_001, ontraport: 20_002, clientpay: 20_003, virtualrx: 20_004 });
});

it('takes a base whose five ports all exist, and refuses any other in one line', () => {
  expect(parsePortBase('1')).toBe(1);
  expect(parsePortBase('65531')).toBe(65_531);
  for (const refused of ['0', '65532', '99999', '-1', '4101.5', '4e3', 'abc', '']) {
    expect(() => parsePortBase(refused), refused).toThrow(UsageError);
  }
  expect(() => parsePortBase('65532')).toThrow('--port-base must be a whole number from 1 to 65531 (the sandboxes listen on base to base+4), not 65532');
});
