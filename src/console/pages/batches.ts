import express, { type Router } from 'express';
import type { ConsoleDeps } from '../deps.js';

/** TODO(issue 15): the batches page. */
export function batchesPage(_deps: ConsoleDeps): Router {
  return express.Router();
}
