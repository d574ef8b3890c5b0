import express, { type Router } from 'express';
import type { ConsoleDeps } from '../deps.js';

/** TODO(issue 15): the finance page. */
export function financePage(_deps: ConsoleDeps): Router {
  return express.Router();
}
