import express, { type Router } from 'express';
import type { ConsoleDeps } from '../deps.js';

/** TODO(issue 15): the audit page. */
export function auditPage(_deps: ConsoleDeps): Router {
  return express.Router();
}
