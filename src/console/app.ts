import express, { type ErrorRequestHandler, type Router } from 'express';
import helmet from 'helmet';
import { StipendError } from '../errors.js';
import { SignInThrottle } from '../people/sign-in-throttle.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import type { ConsoleDeps } from './deps.js';
import { ForbiddenError, signInRequired } from './guard.js';
import { html } from './html.js';
import { notice, page } from './layout.js';
import { approvalsPage } from './pages/approvals.js';
import { auditPage } from './pages/audit.js';
import { batchesPage } from './pages/batches.js';
import { financePage } from './pages/finance.js';
import { needsAPersonPage } from './pages/needs-a-person.js';
import { peoplePage } from './pages/people.js';
import { uploadPage } from './pages/upload.js';
import { signInRoutes } from './sign-in.js';

/**
 * The operations console under /console: server-rendered pages over the programmatic API the CLI
 * uses (batches/, reversals/, reports/), so the browser can do nothing the API does not check.
 * Security headers (helmet) with a strict Content-Security-Policy: scripts, styles, fetches and
 * form posts only from this origin, no inline script or style, no framing.
 */
export async function consoleApp(deps: ConsoleDeps): Promise<Router> {
  const secret = await deps.sessions.cookieSecret();
  const app = express.Router();
  app.use('/console', helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    strictTransportSecurity: false,
  }));
  app.use('/console', (_request, response, next) => {
    // Pages show money and names: no shared cache keeps them.
    response.set('Cache-Control', 'no-store');
    next();
  });
  app.get('/console/assets/console.css', (_request, response) => response.type('css').set('Cache-Control', 'no-cache').send(CONSOLE_CSS));
  app.get('/console/assets/console.js', (_request, response) => response.type('js').set('Cache-Control', 'no-cache').send(CONSOLE_JS));
  app.use(signInRoutes({ ...deps, throttle: new SignInThrottle(deps.context.redis, deps.context.keys), secret }));
  app.use('/console', signInRequired(deps.people, deps.sessions, secret));
  app.get('/console', (_request, response) => response.redirect(303, '/console/batches'));
  for (const pages of [uploadPage, batchesPage, approvalsPage, needsAPersonPage, financePage, auditPage, peoplePage]) app.use(pages(deps));
  app.use('/console', refused(deps));
  return app;
}

/**
 * A refusal as a page: a role that may not (403), a forged form (403), a user's mistake the API
 * refused (400, its one-line message, never a stack). Anything else is logged and answered 500.
 */
function refused(deps: ConsoleDeps): ErrorRequestHandler {
  return (error, request, response, _next) => {
    const who = response.locals.signedIn;
    let status = 500;
    let message = 'Something went wrong; the dashboard\'s log says what.';
    if (error instanceof ForbiddenError) {
      status = 403;
      message = error.message;
    } else if (error instanceof StipendError) {
      status = 400;
      message = error.message;
    } else if (typeof (error as { status?: unknown }).status === 'number' && (error as { status: number }).status < 500) {
      status = (error as { status: number }).status;
      message = (error as Error).message;
    } else {
      deps.log.error({ err: error, path: request.path }, 'console request failed');
    }
    response.status(status).type('html').send(page({ title: status === 403 ? 'Not allowed' : 'Refused', who, body: html`${notice(message, 'bad')}<p><a href="/console/batches">Back to the batches</a></p>` }));
  };
}
