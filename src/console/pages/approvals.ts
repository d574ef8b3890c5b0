import express, { type Router } from 'express';
import type { ConsoleDeps } from '../deps.js';

/** TODO(issue 15): the approvals page. */
export function approvalsPage(_deps: ConsoleDeps): Router {
  return express.Router();
}
