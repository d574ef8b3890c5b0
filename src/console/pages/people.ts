import express, { type Router } from 'express';
import type { ConsoleDeps } from '../deps.js';

/** TODO(issue 15): the people page. */
export function peoplePage(_deps: ConsoleDeps): Router {
  return express.Router();
}
