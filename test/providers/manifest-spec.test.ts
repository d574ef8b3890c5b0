import { expect, it } from 'vitest';
import { getAdapter } from '../../src/providers/index.js';
import { PROVIDER_IDS } from '../../src/providers/types.js';

/** Each provider's manifest columns, derived from its row schema: names, order and which are required. */
const COLUMNS = {
  ctpayer: ['cardId', 'description', 'groupId?'],
  ptapi: ['cardholderId', 'customerId', 'programId', 'description'],
  ontraport: ['contact_id', 'invoice_id', 'gateway_id', 'product_id', 'description?'],
  clientpay: ['payeeToken', 'referenceNumber', 'description'],
  virtualrx: ['CustId', 'ProgramId', 'ClaimReferenceNumber', 'ClientGroupID', 'ReasonDescription?'],
};

it.each(PROVIDER_IDS)('%s: one column per field of the row schema, optional fields not required', (provider) => {
  const written = getAdapter(provider).manifest.columns.map((c) => (c.required ? c.name : `${c.name}?`));
  expect(written).toEqual(COLUMNS[provider]);
});
