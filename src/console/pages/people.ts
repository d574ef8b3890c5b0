import express, { type Response, type Router } from 'express';
import { UsageError } from '../../errors.js';
import { generatePassword } from '../../people/passwords.js';
import type { Person } from '../../people/people.js';
import { ROLES, ROLE_DESCRIPTIONS, role } from '../../people/roles.js';
import type { ConsoleDeps } from '../deps.js';
import { type SignedIn, allowed, csrfChecked, signedIn } from '../guard.js';
import { type Html, html } from '../html.js';
import { csrfField, notice, page } from '../layout.js';
import { when } from '../when.js';

/**
 * People (admins only): who may sign in, with which role; adding a person or resetting a password
 * generates one (people/passwords.ts) shown on that one answer only, which no cache keeps (app.ts
 * sends every console page no-store). A removal or a reset ends the person's sessions at once, and
 * each change is in the audit trail with the admin who made it (people/people.ts). No page ever
 * holds a password hash: People hands out persons without it.
 */
export function peoplePage(deps: ConsoleDeps): Router {
  const router = express.Router();
  const { people } = deps;
  const form = express.urlencoded({ extended: false, limit: '16kb' });
  const guarded = [form, csrfChecked, allowed('manage-people')];

  const show = async (response: Response, message?: Html) => {
    const who = signedIn(response);
    response.type('html').send(page({ title: 'People', who, current: '/console/people', body: html`${message}${peopleTable(await people.list(), who)}${addForm(who)}` }));
  };

  router.get('/console/people', allowed('manage-people'), async (_request, response) => show(response));

  router.post('/console/people/add', ...guarded, async (request, response) => {
    // Names are kept in lower case, and the sign-in form lower-cases what it is given.
    const name = String(request.body?.name ?? '').trim().toLowerCase();
    const chosen = role.safeParse(request.body?.role);
    if (!chosen.success) throw new UsageError(`Role: one of ${ROLES.join(', ')}`);
    const password = generatePassword();
    await people.add(name, chosen.data, password, signedIn(response).actor);
    await show(response, passwordShown(`${name} added as ${chosen.data}.`, name, password));
  });

  router.post('/console/people/reset', ...guarded, async (request, response) => {
    const name = String(request.body?.name ?? '');
    const password = generatePassword();
    await people.resetPassword(name, password, signedIn(response).actor);
    await show(response, passwordShown(`${name}'s password is reset and their sessions ended.`, name, password));
  });

  router.post('/console/people/remove', ...guarded, async (request, response) => {
    const name = String(request.body?.name ?? '');
    // The last admin could otherwise lock everyone out of this page; another admin (or `stipend users remove`) can.
    if (name === signedIn(response).person.name) throw new UsageError('You cannot remove yourself; another admin can, or `stipend users remove` at the command line.');
    await people.remove(name, signedIn(response).actor);
    await show(response, notice(`${name} removed; their sessions are ended.`, 'good'));
  });
  return router;
}

/** The one place a new password is ever shown. */
function passwordShown(done: string, name: string, password: string): Html {
  return html`<div class="notice good" role="status">
<p>${done}</p>
<p>Password for ${name}: <code class="password">${password}</code></p>
<p>It is shown only this once: give it to them privately. They can sign in with it now.</p>
</div>`;
}

function peopleTable(everyone: Person[], who: SignedIn): Html {
  return html`<div class="table-wrap"><table>
<caption>Everyone who may sign in</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Added by</th><th scope="col">Added</th><th scope="col">Password set</th><th scope="col">Change</th></tr></thead>
<tbody>
${everyone.map((person) => html`<tr>
<th scope="row">${person.name}${person.name === who.person.name ? ' (you)' : ''}</th>
<td>${person.role}</td>
<td>${person.added_by}</td>
<td>${when(person.added_ms)}</td>
<td>${when(person.password_set_ms)}</td>
<td>
<form class="inline" method="post" action="/console/people/reset">${csrfField(who)}<input type="hidden" name="name" value="${person.name}"><button type="submit" class="secondary">Reset password</button></form>
<form class="inline" method="post" action="/console/people/remove">${csrfField(who)}<input type="hidden" name="name" value="${person.name}"><button type="submit" class="danger">Remove</button></form>
</td>
</tr>`)}
</tbody>
</table></div>`;
}

function addForm(who: SignedIn): Html {
  return html`<h2>Add a person</h2>
<form class="stack" method="post" action="/console/people/add">
${csrfField(who)}
<label for="name">Name<input id="name" name="name" required maxlength="40" autocomplete="off" aria-describedby="name-hint"></label>
<p id="name-hint">Lower-case letters, digits, ".", "_" or "-"; how they sign in and how the audit trail names them (console:&lt;name&gt;).</p>
<label for="role">Role<select id="role" name="role">${ROLES.map((r) => html`<option value="${r}">${r}: ${ROLE_DESCRIPTIONS[r]}</option>`)}</select></label>
<button type="submit">Add person</button>
</form>
<p>A password is generated and shown once; give it to them privately.</p>`;
}
