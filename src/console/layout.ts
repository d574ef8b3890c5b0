import { may, type Action } from '../people/roles.js';
import type { SignedIn } from './guard.js';
import { type Html, html } from './html.js';

/** The console's pages in the order the navigation shows them, and what each needs. */
export const PAGES = [
  { path: '/console/upload', title: 'Upload', needs: 'submit' },
  { path: '/console/batches', title: 'Batches', needs: 'read' },
  { path: '/console/approvals', title: 'Approvals', needs: 'read' },
  { path: '/console/needs-a-person', title: 'Needs a person', needs: 'read' },
  { path: '/console/finance', title: 'Finance', needs: 'read' },
  { path: '/console/audit', title: 'Audit', needs: 'read' },
  { path: '/console/people', title: 'People', needs: 'manage-people' },
] as const satisfies readonly { path: string; title: string; needs: Action }[];

export type PagePath = (typeof PAGES)[number]['path'];

/**
 * A whole console page: a skip link, the navigation (only the pages the person may use), who is
 * signed in with the sign-out button, and the page's own content in <main>. No inline script or
 * style: the Content-Security-Policy forbids them.
 */
export function page(options: { title: string; who?: SignedIn; current?: PagePath; body: Html }): string {
  const { who } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · stipend-batch</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/console/batches">stipend-batch</a>
${who === undefined ? '' : html`<nav class="main" aria-label="Console"><ul>
${PAGES.filter((p) => may(who.person.role, p.needs)).map((p) => html`<li><a href="${p.path}"${p.path === options.current ? html` aria-current="page"` : ''}>${p.title}</a></li>`)}
</ul></nav>
<div class="who"><span>${who.person.name} (${who.person.role})</span>
<form class="inline" method="post" action="/console/sign-out">${csrfField(who)}<button type="submit" class="secondary">Sign out</button></form></div>`}
</header>
<main id="main" tabindex="-1">
<h1>${options.title}</h1>
${options.body}
</main>
</body>
</html>`.text;
}

/** The hidden field every console form carries (guard.ts csrfChecked). */
export function csrfField(who: SignedIn): Html {
  return html`<input type="hidden" name="_csrf" value="${who.session.csrf}">`;
}

/** A message above a page's content: what just happened, or why something was refused. */
export function notice(text: string | undefined, kind: 'good' | 'bad' | 'info' = 'info'): Html {
  return text === undefined ? html`` : html`<div class="notice ${kind}" role="${kind === 'bad' ? 'alert' : 'status'}">${text}</div>`;
}
