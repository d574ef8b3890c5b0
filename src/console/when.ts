import { type Html, html } from './html.js';

/** A moment as the console shows it: to the second, in UTC, machine-readable in `datetime`. */
export function when(at: number | string): Html {
  const iso = new Date(at).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}
