import express, { type Router } from 'express';
import type { ConsoleDeps } from '../deps.js';

/** TODO(issue 15): the upload page. */
export function uploadPage(_deps: ConsoleDeps): Router {
  return express.Router();
}
