import express, { type Router } from 'express';
import type { ConsoleDeps } from '../deps.js';

/** TODO(issue 15): the needs-a-person page. */
export function needsAPersonPage(_deps: ConsoleDeps): Router {
  return express.Router();
}
