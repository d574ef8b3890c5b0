import express, { type ErrorRequestHandler, type RequestHandler, type Response, type Router } from 'express';
import { dryRunManifest } from '../../batches/dry-run.js';
import { submitManifest } from '../../batches/submit.js';
import type { Account } from '../../config/load.js';
import { StipendError, UsageError } from '../../errors.js';
import { sha256File } from '../../manifest/index.js';
import type { ConsoleDeps } from '../deps.js';
import { ForbiddenError, allowed, csrfChecked, signedIn } from '../guard.js';
import { type Html, html } from '../html.js';
import { notice, page } from '../layout.js';
import { fileNameForPeople, receiveManifest, removeUpload, removeUploadOnError } from '../upload-files.js';
import { accountKey, cleanSummary, describeRows, problemsTable, uploadForm } from '../upload-views.js';
import { Uploads } from '../uploads.js';

/**
 * Upload, validate, submit: a manifest is validated exactly as `stipend run --dry-run` does it
 * (dryRunManifest) and, when clean, waits on disk under a random name with its SHA-256 recorded;
 * "Submit batch" submits that very file (hashed again) as the person who uploaded it, once.
 */
export function uploadPage(deps: ConsoleDeps): Router {
  const { context } = deps;
  const { accounts } = context.config;
  const uploads = new Uploads(context);
  const router = express.Router();
  const accountNamed = (key: unknown): Account | undefined => accounts.find((a) => accountKey(a) === key);

  /** A result page; a refusal offers the form again, its account still chosen. */
  const show = (response: Response, status: number, body: Html, chosen?: string) => {
    response.status(status).type('html').send(page({
      title: 'Upload result', who: signedIn(response), current: '/console/upload',
      body: html`${body}${status >= 400 ? html`<h2>Upload a manifest</h2>${uploadForm(signedIn(response), accounts, chosen)}` : ''}`,
    }));
  };

  /** A refusal of the person's input (StipendError) as the upload page with its message; the upload's file removed. */
  const refusedHere: ErrorRequestHandler = (error, request, response, next) => {
    if (!(error instanceof StipendError)) return next(error);
    show(response, 400, notice(error.message, 'bad'), request.body?.account);
  };

  router.get('/console/upload', allowed('submit'), (_request, response) => {
    response.status(200).type('html').send(page({
      title: 'Upload', who: signedIn(response), current: '/console/upload',
      body: html`<p>Validate a payment manifest, then submit it as a batch. Validating records nothing and sends nothing but a read of the funding balance.</p>${uploadForm(signedIn(response), accounts)}`,
    }));
  });

  const validate: RequestHandler = async (request, response) => {
    const chosen = typeof request.body.account === 'string' ? request.body.account : undefined;
    const account = accountNamed(chosen);
    const file = request.file;
    if (account === undefined) throw new UsageError('choose one of the configured accounts; nothing was recorded');
    if (file === undefined) throw new UsageError('choose a manifest file (CSV) to upload; nothing was recorded');
    const original = fileNameForPeople(file.originalname);
    const result = await dryRunManifest(context, { file: file.path, account });
    if (!result.accepted) {
      await removeUpload(file.path);
      const why = result.refusal ?? describeRows(result.scan);
      return show(response, 422, html`${notice(`${original} was refused: ${why}. Nothing was recorded; correct the file and upload it again.`, 'bad')}${problemsTable(result.scan)}`, chosen);
    }
    const token = await uploads.record({ file: file.path, sha256: result.scan.sha256, account: accountKey(account), name: signedIn(response).person.name, original });
    show(response, 200, html`${notice(`${original} is valid and ready to submit to ${account.adapter.name} (${account.name}).`, 'good')}${cleanSummary(signedIn(response), account, original, result, token)}`);
  };
  // The role is checked before the body is read, so a person who may not submit stores nothing.
  router.post('/console/upload', allowed('submit'), receiveManifest(deps.uploadsDir), csrfChecked, validate, removeUploadOnError, refusedHere);

  const submit: RequestHandler = async (request, response) => {
    const who = signedIn(response);
    const taken = await uploads.take(typeof request.body.upload === 'string' ? request.body.upload : '', who.person.name);
    if (taken.kind === 'gone') throw new UsageError('this upload expired or was already submitted; upload it again');
    if (taken.kind === 'not-yours') throw new ForbiddenError(`this upload is ${taken.owner}'s: only the person who uploaded a manifest may submit it`);
    const { upload } = taken;
    let batchId: string;
    try {
      const account = accountNamed(upload.account);
      if (account === undefined) throw new UsageError(`the account ${upload.account} is no longer configured; nothing was recorded`);
      // Only a clean validation of exactly this file is submitted: a file changed since is not.
      const sha256 = await sha256File(upload.file).catch(() => undefined);
      if (sha256 === undefined) throw new UsageError(`${upload.original} is no longer stored; nothing was recorded; upload it again`);
      if (sha256 !== upload.sha256) throw new UsageError(`${upload.original} changed after its validation; nothing was recorded; upload it again`);
      const result = await submitManifest(context, { file: upload.file, source: upload.original, account, submittedBy: who.actor });
      if (!result.accepted) throw new UsageError(`${upload.original} was refused: ${result.refusal ?? describeRows(result.scan)}. Nothing was recorded; upload it again once that is put right`);
      batchId = result.batchId;
    } finally {
      // Removed before the answer, so a person (or a test) who sees the batch finds the upload gone.
      await removeUpload(upload.file);
    }
    response.redirect(303, `/console/batches/${batchId}`);
  };
  router.post('/console/submit', express.urlencoded({ extended: false, limit: '16kb' }), csrfChecked, allowed('submit'), submit, refusedHere);

  return router;
}
