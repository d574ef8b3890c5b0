/**
 * The console's one stylesheet and one script, served from /console/assets/ (the Content-Security-
 * Policy allows no inline script or style). The script only adds to server-rendered pages: live
 * progress from server-sent events, and nothing a page needs to work.
 */
export const CONSOLE_CSS = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #4a535e; --line: #c9d1d9; --accent: #0b57d0; --bad: #a4161a; --good: #1a6b32; --warn: #7a4d00; --paper: #fff; --wash: #f3f5f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--paper); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--paper); padding: .5rem 1rem; }
.skip:focus { left: .5rem; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .75rem 1.25rem; background: var(--wash); border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; text-decoration: none; color: var(--ink); }
nav.main ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
nav.main a[aria-current="page"] { font-weight: 700; color: var(--ink); text-decoration-thickness: 3px; }
.who { margin-left: auto; display: flex; gap: .75rem; align-items: center; color: var(--muted); }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; }
.table-wrap { overflow-x: auto; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--wash); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
form.inline { display: inline; }
form.stack { display: grid; gap: .75rem; max-width: 32rem; }
form.row { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; }
label { display: grid; grid-template-columns: minmax(0, 1fr); gap: .2rem; font-weight: 600; min-width: 0; }
label:has(> input[type="radio"]), label:has(> input[type="checkbox"]) { display: flex; align-items: center; gap: .5rem; font-weight: 400; }
fieldset { border: 1px solid var(--line); border-radius: 4px; }
input, select, textarea, button { max-width: 100%; font: inherit; padding: .4rem .6rem; border: 1px solid var(--muted); border-radius: 4px; background: var(--paper); color: var(--ink); }
button { cursor: pointer; background: var(--accent); color: #fff; border-color: var(--accent); font-weight: 600; }
button.secondary { background: var(--paper); color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
.notice { padding: .75rem 1rem; border-left: 4px solid var(--accent); background: var(--wash); margin: 1rem 0; }
.notice.bad { border-color: var(--bad); }
.notice.good { border-color: var(--good); }
.status-paid { color: var(--good); font-weight: 600; }
.status-unknown, .status-reversal_unknown, .status-failed, .status-declined { color: var(--bad); font-weight: 600; }
progress { width: 10rem; max-width: 100%; height: 1rem; display: block; }
[hidden] { display: none !important; }
ul.totals, ul.links { list-style: none; margin: 0; padding: 0; }
ul.totals li { white-space: nowrap; }
ul.links { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; }
nav.pager { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; margin: 1rem 0; }
.muted { color: var(--muted); font-size: .9em; }
code.wrap { overflow-wrap: anywhere; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.status-reversed, .status-reversing { color: var(--warn); font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
@media (max-width: 600px) {
  header.top { padding: .5rem .75rem; }
  .who { margin-left: 0; }
  main { padding: .75rem; }
  th, td { padding: .3rem .4rem; font-size: .9rem; }
  dl.facts { grid-template-columns: 1fr; }
}
`;

export const CONSOLE_JS = `
// Live figures: an element with data-batch-id holds cells data-field="<name>"; each 'batch' event of
// /console/events (console/batch-events.ts) carries the batch's figures under those names. A count
// shows grouped as the server renders it; a <progress> takes the final count of the accepted; an
// element data-hide-zero is shown only while its count is not zero. The rows of a batch page are
// not redrawn live: its data-rows-of notice (the final count and state the rows were drawn at)
// appears, with a link that reloads them, once those move on. EventSource reconnects by itself.
(function () {
  if (!window.EventSource || !document.querySelector('[data-batch-id]')) return;
  var source = new EventSource('/console/events');
  source.addEventListener('batch', function (event) {
    var batch;
    try { batch = JSON.parse(event.data); } catch (error) { return; }
    document.querySelectorAll('[data-rows-of]').forEach(function (notice) {
      if (notice.getAttribute('data-rows-of') !== batch.batchId) return;
      if (String(batch.final) !== notice.getAttribute('data-final') || batch.state !== notice.getAttribute('data-state')) notice.hidden = false;
    });
    document.querySelectorAll('[data-batch-id]').forEach(function (node) {
      if (node.getAttribute('data-batch-id') !== batch.batchId) return;
      node.querySelectorAll('[data-field]').forEach(function (cell) {
        var value = batch[cell.getAttribute('data-field')];
        if (value === undefined) return;
        if (cell.tagName === 'PROGRESS') {
          cell.max = Math.max(batch.accepted, 1);
          cell.value = value;
          return;
        }
        cell.textContent = typeof value === 'number' ? value.toLocaleString('en-US') : String(value);
        var shown = cell.closest('[data-hide-zero]');
        if (shown && typeof value === 'number') shown.hidden = value === 0;
      });
    });
  });
  window.addEventListener('pagehide', function () { source.close(); });
})();
`;
