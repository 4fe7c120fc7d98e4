// Browser scenarios for the end-to-end tests and the page benchmark.
//
//   node shared/ticketflow/testing/browser/driver.mjs SCENARIO   (run from web/, where playwright-core is)
//
// Debian chromium through playwright-core (no browser download), one fresh profile per
// run. Environment (set by ticketflow.testing.browser): TF_WEB_URL, TF_CHROMIUM,
// TF_SAMPLE_REPO, TF_SLOW_REPO, TF_WATCH_REPO, TF_WATCH_GATE (git URLs, and the URL
// that lets the watched repository's pack download through), TF_SCREENSHOTS,
// TF_FIREBASE_SDK, TF_PROFILE_ROOT;
// the bench adds TF_BENCH_TICKETS. The last stdout line is one JSON object:
// {ok: true, ...observations} or {ok: false, error, ...what was seen so far}.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pageScenarios } from './scenarios_page.mjs';

const require = createRequire(path.join(process.cwd(), 'package.json'));
const { chromium } = require('playwright-core');

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const WEB_URL = env('TF_WEB_URL');
const SCREENSHOTS = env('TF_SCREENSHOTS');
const SDK_DIR = env('TF_FIREBASE_SDK');
const SDK_BASE = 'https://www.gstatic.com/firebasejs/';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const T = { step: 30_000, run: 90_000 };

const CRITICAL = {
  title: 'Fix the PDF download of paid invoices',
  description:
    'Downloading the PDF of a paid invoice fails with a 500 error. The bug is in ' +
    '`render_invoice_pdf()` in billing/pdf_renderer.py, which the GET ' +
    '/api/invoices/{id}/download route calls. INVOICE_PDF_TEMPLATE must keep working. ' +
    'The download must be fast. The PDF is generated synchronously for small invoices ' +
    'and asynchronously for large ones.',
};
// A vague target and a contradiction, nothing missing in the repository: two questions.
const TWO_QUESTIONS = {
  title: 'Add CSV export to the invoice list',
  description:
    'As an accountant I want to export the invoices shown in the invoice list to a CSV ' +
    'file. The export must be fast. It runs synchronously for small lists and ' +
    'asynchronously for large ones.',
};
const VAGUE = {
  title: 'Speed up the invoice list',
  description: 'Show the invoices of a customer in the invoice list. The list must be fast.',
};
const PLAIN = {
  title: 'Show the customer name on each invoice row',
  description:
    'Each row of the invoice list shows the name of the invoice customer next to the ' +
    'invoice number.',
};

// -- in-page recorder: every step-row status change, with wall-clock times ----------------

function installRecorder() {
  const now = () => performance.timeOrigin + performance.now();
  const seen = new Map();
  window.__tfLog = [];
  const scan = () => {
    const t = now();
    const view = document.querySelector('[data-testid="ticket-view"]');
    const aec = view?.getAttribute('data-aec-id') ?? null;
    const fresh = [];
    // The ticket's status (step 11 shows as the ticket becoming ready: the progress
    // list gives way to the finished ticket).
    const ticketStatus = view?.getAttribute('data-status') ?? null;
    if (aec && seen.get(`${aec}/ticket`) !== ticketStatus) {
      seen.set(`${aec}/ticket`, ticketStatus);
      const entry = { aec, step: 'ticket', status: ticketStatus, t, frame: null };
      window.__tfLog.push(entry);
      fresh.push(entry);
    }
    for (const row of document.querySelectorAll('[data-testid="step-row"]')) {
      const step = Number(row.getAttribute('data-step-index'));
      const status = row.getAttribute('data-status');
      const key = `${aec}/${step}`;
      if (seen.get(key) !== status) {
        seen.set(key, status);
        const entry = { aec, step, status, t, frame: null };
        window.__tfLog.push(entry);
        fresh.push(entry);
      }
    }
    if (fresh.length) {
      requestAnimationFrame(() => {
        const f = now();
        for (const e of fresh) e.frame = f;
      });
    }
  };
  const start = () => {
    new MutationObserver(scan).observe(document.documentElement, {
      subtree: true, childList: true, attributes: true,
      attributeFilter: ['data-status', 'data-aec-id'],
    });
    scan();
  };
  if (document.documentElement) start();
  else document.addEventListener('DOMContentLoaded', start);
}

// -- helpers ----------------------------------------------------------------------------------

const tid = (id) => `[data-testid="${id}"]`;
const out = { ok: false, scenario: process.argv[2], screenshots: [] };

async function shot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${out.scenario}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  out.screenshots.push(file);
  return file;
}

/** A README picture: what the viewport shows, at the top of the page. */
async function readme(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${out.scenario}-readme-${name}.png`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file });
  out.screenshots.push(file);
  return file;
}

async function openBrowser() {
  const root = env('TF_PROFILE_ROOT');
  fs.mkdirSync(root, { recursive: true });
  const profile = fs.mkdtempSync(path.join(root, 'profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env('TF_CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  // Which of the page's scripts were fetched, in order (the first load's size).
  out.scripts = [];
  context.on('request', (r) => {
    const url = new URL(r.url());
    if (url.origin === new URL(WEB_URL).origin && url.pathname.endsWith('.js')) {
      out.scripts.push(url.pathname);
    }
  });
  // The Firebase SDK's browser modules, served from node_modules (nothing leaves the host).
  await context.route(`${SDK_BASE}**`, async (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop();
    const file = path.join(SDK_DIR, name);
    if (!fs.existsSync(file)) return route.fulfill({ status: 404, body: 'not here' });
    return route.fulfill({ status: 200, contentType: 'text/javascript', body: fs.readFileSync(file) });
  });
  context.setDefaultTimeout(T.step);
  await context.addInitScript(installRecorder);
  const errors = [];
  context.on('weberror', (e) => errors.push(String(e.error())));
  return { context, profile, errors };
}

const pages = [];

async function newPage(context) {
  const page = await context.newPage();
  pages.push(page);
  page.on('console', (m) => {
    if (m.type() === 'error') process.stderr.write(`[console] ${m.text()}\n`);
  });
  return page;
}

async function signUp(page) {
  await page.goto(WEB_URL);
  await page.waitForSelector(tid('signin'));
  const email = `e2e-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const password = 'pw-e2e-123456';
  await page.fill(tid('signin-email'), email);
  await page.fill(tid('signin-password'), password);
  await shot(page, '01-signin');
  await page.click(tid('signup-submit'));
  const uid = await page.getAttribute(tid('user-id'), 'data-uid');
  await page.waitForSelector(`${tid('list-empty')}, ${tid('ticket-list')}`);
  out.uid = uid;
  out.email = email;
  return { uid, email, password };
}

async function signInAnonymously(page) {
  await page.goto(WEB_URL);
  await page.click(tid('signin-anonymous'));
  const uid = await page.getAttribute(tid('user-id'), 'data-uid');
  out.uid = uid;
  return { uid };
}

async function createTicket(page, req, repo, name = 'new-ticket') {
  await page.click(tid('new-ticket-button'));
  await page.waitForSelector(`${tid('ticket-form')}[data-mode="new"]`);
  await page.fill(tid('form-title'), req.title);
  await page.fill(tid('form-description'), req.description);
  if (repo) await page.fill(tid('form-repo'), repo);
  if (name) await shot(page, `02-${name}`);
  await page.click(tid('form-submit'));
  const view = await page.waitForSelector(tid('ticket-view'));
  const aecId = await view.getAttribute('data-aec-id');
  return aecId;
}

/** Type a ticket whose repository the form must refuse; what the form then shows. */
async function refusedInForm(page, repo, fragment, name) {
  if (!(await page.$(`${tid('ticket-form')}[data-mode="new"]`))) {
    await page.click(tid('new-ticket-button'));
    await page.waitForSelector(`${tid('ticket-form')}[data-mode="new"]`);
  }
  await page.fill(tid('form-title'), PLAIN.title);
  await page.fill(tid('form-description'), PLAIN.description);
  await page.fill(tid('form-repo'), repo);
  await page.click(tid('form-submit'));
  await page.waitForFunction(([sel, f]) => document.querySelector(sel)?.textContent?.includes(f),
    [tid('form-error'), fragment]);
  const shown = { error: await page.textContent(tid('form-error')),
    kept: await page.inputValue(tid('form-repo')), hash: await page.evaluate(() => location.hash),
    view: Boolean(await page.$(tid('ticket-view'))) };
  await shot(page, name);
  return shown;
}

async function waitStatus(page, status, timeout = T.run) {
  await page.waitForSelector(`${tid('ticket-view')}[data-status="${status}"]`, { timeout });
}

/** What the page shows, in comparable form. */
async function state(page) {
  return page.evaluate(() => {
    const q = (s) => document.querySelector(`[data-testid="${s}"]`);
    const all = (s) => [...document.querySelectorAll(`[data-testid="${s}"]`)];
    const view = q('ticket-view');
    return {
      hash: location.hash,
      aecId: view?.getAttribute('data-aec-id') ?? null,
      status: view?.getAttribute('data-status') ?? null,
      workflowState: view?.getAttribute('data-workflow-state') ?? null,
      runStatus: q('generation-progress')?.getAttribute('data-run-status') ?? null,
      currentStep: q('current-step')?.getAttribute('data-step') ?? null,
      steps: all('step-row').map((r) => r.getAttribute('data-status')),
      findingsModal: Boolean(q('findings-modal')),
      findings: all('finding-row').map((r) => [r.getAttribute('data-finding-id'),
        r.getAttribute('data-severity')]),
      wizard: Boolean(q('questions-wizard')),
      question: q('wizard-question')?.getAttribute('data-question-id') ?? null,
      wizardProgress: q('wizard-progress')?.textContent ?? null,
      ready: Boolean(q('ticket-ready')),
      acceptanceCriteria: all('acceptance-criteria').map((e) => e.querySelectorAll('li').length)[0] ?? 0,
      refinements: all('refinement-row').map((r) => r.getAttribute('data-question-id')),
      locked: Boolean(q('request-locked')),
      formMode: q('ticket-form')?.getAttribute('data-mode') ?? null,
      editable: Boolean(q('form-title') || q('edit-title')),
      offlineLabel: Boolean(q('offline-label')),
      listRows: all('ticket-row').map((r) => r.getAttribute('data-aec-id')),
      rejection: q('rejection-reason')?.textContent ?? null,
      findingStatuses: all('finding-row').map((r) => [r.getAttribute('data-finding-id'),
        r.getAttribute('data-severity'), r.getAttribute('data-finding-status')]),
      evidence: all('finding-evidence').map((e) => e.textContent),
      rawBackticks: all('finding-row').some((r) => ['.finding-message', '.finding-evidence']
        .some((sel) => (r.querySelector(sel)?.textContent ?? '').includes('`'))),
      codeInMessages: document.querySelectorAll('.finding-message code').length,
      decisions: [...(q('decisions')?.querySelectorAll('li') ?? [])].map((li) => li.textContent),
      criteria: [...(q('acceptance-criteria')?.querySelectorAll('li') ?? [])]
        .map((li) => li.textContent),
      questionTexts: all('wizard-question').map((e) => e.textContent),
      wizardBeforeProgress: Boolean(q('questions-wizard') && q('generation-progress') &&
        (q('questions-wizard').compareDocumentPosition(q('generation-progress')) &
          Node.DOCUMENT_POSITION_FOLLOWING)),
      progressExpanded: q('progress-toggle')?.getAttribute('aria-expanded') ?? null,
      readyBeforeEditor: Boolean(q('ticket-ready') && q('request-editor') &&
        (q('ticket-ready').compareDocumentPosition(q('request-editor')) &
          Node.DOCUMENT_POSITION_FOLLOWING)),
      requestEditorOpen: q('request-editor')?.hasAttribute('open') ?? null,
      scrollY: window.scrollY,
      formFindings: all('form-findings').length ?
        [...q('form-findings').querySelectorAll('[data-testid="finding-row"]')]
          .map((r) => r.getAttribute('data-finding-id')) : [],
      repoPlaceholder: q('form-repo')?.getAttribute('placeholder') ?? null,
      apiError: q('api-error')?.textContent ?? null,
      loadError: q('load-error-message')?.textContent ?? null,
      unsaved: q('unsaved-text')?.textContent ?? null,
      restored: Boolean(q('restored-edits')),
    };
  });
}

/** Reload and wait until the page has shown the ticket again. */
async function reload(page, status) {
  await page.reload();
  await waitStatus(page, status, T.step);
}

async function currentQuestion(page) {
  return page.getAttribute(tid('wizard-question'), 'data-question-id');
}

async function answer(page, text) {
  if (await page.$(tid('wizard-choice-0'))) {
    await page.check(tid('wizard-choice-0'));
    return 'choice-0';
  }
  await page.fill(tid('wizard-answer-input'), text);
  return text;
}

/** A second, independent Firebase app in the page (the SDK's browser modules), signed in
 * as the same user, writes straight to the ticket: the rules must refuse. */
async function directWrite(page, creds, aecId) {
  const version = JSON.parse(fs.readFileSync(path.join(SDK_DIR, 'package.json'), 'utf8')).version;
  return page.evaluate(async ({ base, creds, aecId }) => {
    const cfg = window.__TICKETFLOW_CONFIG__;
    const appMod = await import(`${base}firebase-app.js`);
    const authMod = await import(`${base}firebase-auth.js`);
    const fsMod = await import(`${base}firebase-firestore.js`);
    const app = appMod.initializeApp({ apiKey: 'demo-api-key', projectId: cfg.projectId }, 'probe');
    const auth = authMod.getAuth(app);
    authMod.connectAuthEmulator(auth, cfg.authEmulator, { disableWarnings: true });
    const db = fsMod.getFirestore(app);
    const [host, port] = cfg.firestoreEmulator.split(':');
    fsMod.connectFirestoreEmulator(db, host, Number(port));
    const cred = await authMod.signInWithEmailAndPassword(auth, creds.email, creds.password);
    const ref = fsMod.doc(db, 'aecs', aecId);
    const results = { uid: cred.user.uid };
    const attempt = async (name, fn) => {
      try {
        await fn();
        results[name] = 'allowed';
      } catch (e) {
        results[name] = e.code ?? String(e);
      }
    };
    const snap = await fsMod.getDoc(ref);
    results.readStatus = snap.data()?.status ?? null;
    results.readLocked = snap.data()?.locked ?? null;
    await attempt('editTitle', () => fsMod.updateDoc(ref, { title: 'Edited while locked' }));
    await attempt('unlock', () => fsMod.updateDoc(ref, { locked: false, lockedBy: null }));
    await attempt('generationState', () =>
      fsMod.updateDoc(ref, { 'generationState.status': 'completed' }));
    await authMod.signOut(auth);
    await appMod.deleteApp(app);
    return results;
  }, { base: `${SDK_BASE}${version}/`, creds, aecId });
}

function recorderLog(page) {
  return page.evaluate(() => window.__tfLog ?? []);
}

/** Steps never move backwards on screen (waiting < running < finished). */
function monotonic(log) {
  const rank = { waiting: 0, running: 1, suspended: 1, done: 2, skipped: 2, degraded: 2, failed: 2 };
  const last = new Map();
  const bad = [];
  for (const e of log.filter((x) => x.step !== 'ticket')) {
    const key = `${e.aec}/${e.step}`;
    const r = rank[e.status] ?? -1;
    if (last.has(key) && r < last.get(key)) bad.push(e);
    last.set(key, r);
  }
  return bad;
}

// -- scenarios --------------------------------------------------------------------------------

const scenarios = {
  /** Critical findings: review (reload, second tab, locked edit refused), Proceed,
   * questions (reload), Skip all, ready in both tabs. */
  async review_proceed_skip({ context }) {
    const page = await newPage(context);
    const creds = await signUp(page);
    const aecId = await createTicket(page, CRITICAL, env('TF_SAMPLE_REPO'));
    out.aecId = aecId;
    await page.waitForSelector(tid('generation-progress'));
    await shot(page, '03-progress');
    await waitStatus(page, 'awaiting_review');
    await page.waitForSelector(tid('findings-modal'));
    out.atReview = await state(page);
    out.logToReview = await recorderLog(page);
    await shot(page, '04-review');
    await readme(page, 'review');
    // Locked: no editable request on screen, and the rules refuse a direct write.
    out.lockedUi = { locked: out.atReview.locked, editable: out.atReview.editable,
      saveButton: Boolean(await page.$(tid('save-ticket'))) };
    out.directWrite = await directWrite(page, creds, aecId);
    // A reload at the suspension shows the same thing.
    await reload(page, 'awaiting_review');
    await page.waitForSelector(tid('findings-modal'));
    out.afterReloadReview = await state(page);
    // A second tab shows the same truth.
    const tab2 = await newPage(context);
    await tab2.goto(`${WEB_URL}/#/t/${aecId}`);
    await waitStatus(tab2, 'awaiting_review', T.step);
    await tab2.waitForSelector(tid('findings-modal'));
    out.tab2Review = await state(tab2);
    await shot(tab2, '05-review-second-tab');
    // Proceed: both tabs move on to the questions.
    await page.click(tid('modal-proceed'));
    await waitStatus(page, 'awaiting_answers');
    await page.waitForSelector(tid('questions-wizard'));
    await waitStatus(tab2, 'awaiting_answers');
    out.atQuestions = await state(page);
    out.tab2Questions = await state(tab2);
    await shot(page, '06-questions');
    await readme(page, 'wizard');
    await reload(page, 'awaiting_answers');
    await page.waitForSelector(tid('questions-wizard'));
    out.afterReloadQuestions = await state(page);
    out.questionIds = [];
    for (;;) {
      out.questionIds.push(await currentQuestion(page));
      if (!(await page.$(tid('wizard-next')))) break;
      await page.click(tid('wizard-next'));
      await page.waitForFunction(
        (prev) => document.querySelector('[data-testid="wizard-question"]')
          ?.getAttribute('data-question-id') !== prev,
        out.questionIds.at(-1));
    }
    await page.click(tid('wizard-skip'));
    await waitStatus(page, 'ready');
    await page.waitForSelector(tid('ticket-ready'));
    await waitStatus(tab2, 'ready');
    out.ready = await state(page);
    out.tab2Ready = await state(tab2);
    out.readyLinkColor = await page.evaluate(() =>
      getComputedStyle(document.querySelector('[data-testid="back-to-list"]')).color);
    await shot(page, '07-ready');
    // Copy as Markdown (the clipboard, read back) and download as JSON (the file).
    await page.click(tid('copy-markdown'));
    await page.waitForSelector(tid('copy-status'));
    out.markdown = await page.evaluate(() => navigator.clipboard.readText());
    const [download] = await Promise.all([page.waitForEvent('download'),
      page.click(tid('download-json'))]);
    out.jsonName = download.suggestedFilename();
    out.json = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
    await shot(tab2, '08-ready-second-tab');
    out.log = await recorderLog(page);
    out.backwards = [...monotonic(out.logToReview), ...monotonic(out.log)];
  },

  /** Two questions (a vague target and a contradiction): answer, Back, Next, Submit. */
  async two_questions({ context }) {
    const page = await newPage(context);
    await signInAnonymously(page);
    const aecId = await createTicket(page, TWO_QUESTIONS, env('TF_SAMPLE_REPO'), null);
    out.aecId = aecId;
    await waitStatus(page, 'awaiting_answers');
    await page.waitForSelector(tid('questions-wizard'));
    out.atQuestions = await state(page);
    const q1 = await currentQuestion(page);
    const a1 = await answer(page, 'Under 2 seconds for 10,000 invoices.');
    await shot(page, '01-question-1');
    await page.click(tid('wizard-next'));
    await page.waitForSelector(`${tid('wizard-question')}:not([data-question-id="${q1}"])`);
    const q2 = await currentQuestion(page);
    out.nextOnLast = Boolean(await page.$(tid('wizard-next')));
    const a2 = await answer(page, 'Synchronously up to 1,000 rows, asynchronously above.');
    out.progressOnLast = await page.textContent(tid('wizard-progress'));
    await shot(page, '02-question-2');
    await page.click(tid('wizard-back'));
    await page.waitForSelector(`${tid('wizard-question')}[data-question-id="${q1}"]`);
    out.backAnswer = await page.inputValue(tid('wizard-answer-input'));
    out.backDisabled = await page.isDisabled(tid('wizard-back'));
    // Enter = next.
    await page.press(tid('wizard-answer-input'), 'Enter');
    await page.waitForSelector(`${tid('wizard-question')}[data-question-id="${q2}"]`);
    out.forwardAnswer = await page.inputValue(tid('wizard-answer-input'));
    out.questionIds = [q1, q2];
    out.answers = { [q1]: a1, [q2]: a2 };
    await page.click(tid('wizard-submit'));
    await waitStatus(page, 'ready');
    await page.waitForSelector(tid('refinement-row'));
    out.ready = await state(page);
    out.firstRun = await page.evaluate(() =>
      document.querySelector('[data-testid="ticket-view"]')?.getAttribute('data-aec-id'));
    await shot(page, '03-ready');
    await readme(page, 'ready');
    // Change an answer on the ready ticket: a new run refines from step 10 only.
    await page.click(tid('change-answers-button'));
    out.newAnswer = 'Under 1 second for 10,000 invoices.';
    await page.fill(tid(`change-answer-${q1}`), out.newAnswer);
    await page.click(tid('change-answers-submit'));
    await waitStatus(page, 'generating', T.step).catch(() => {});  // it may be quick
    out.duringRerun = await state(page);
    await waitStatus(page, 'ready');
    await page.waitForFunction((text) => [...document.querySelectorAll(
      '[data-testid="acceptance-criteria"] li')].some((li) => li.textContent.includes(text)),
    'under 1 second for 10,000 invoices');
    out.rerun = await state(page);
    await shot(page, '04-ready-after-new-answers');
  },

  /** Edit at review: back to the prefilled form, unlocked, the findings beside it
   * ("Use" applies a suggestion). A second tab types into the same form; the browser
   * warns before that tab reloads; the first tab starts the generation: the second
   * keeps the typed text on screen, and gets it back in the form at the next edit. */
  async edit({ context }) {
    const page = await newPage(context);
    await signInAnonymously(page);
    const aecId = await createTicket(page, CRITICAL, env('TF_SAMPLE_REPO'), null);
    out.aecId = aecId;
    await waitStatus(page, 'awaiting_review');
    await page.click(tid('modal-edit'));
    await waitStatus(page, 'draft');
    await page.waitForSelector(`${tid('ticket-form')}[data-mode="edit"]`);
    await page.waitForSelector(tid('form-findings'));
    out.form = {
      title: await page.inputValue(tid('form-title')),
      description: await page.inputValue(tid('form-description')),
      repo: await page.inputValue(tid('form-repo')),
      titleEditable: await page.isEditable(tid('form-title')),
      submitEnabled: await page.isEnabled(tid('form-submit')),
    };
    out.draft = await state(page);
    await shot(page, '01-draft-form-with-findings');
    // "Use `billing/pdf.py`": the suggestion goes into the request.
    const apply = page.locator(`${tid('form-findings')} ${tid('finding-row')}`).filter({
      has: page.locator('.finding-message', { hasText: 'billing/pdf_renderer.py' }),
    }).locator(tid('apply-suggestion'));
    out.applied = (await apply.count()) === 1 && (await apply.isEnabled());
    if (out.applied) await apply.click();
    out.afterApply = await page.inputValue(tid('form-description'));
    await page.fill(tid('form-title'), `${CRITICAL.title} (edited)`);
    out.typed = await page.inputValue(tid('form-title'));
    // The second tab: same ticket, its own unsaved text.
    const tab2 = await newPage(context);
    await tab2.goto(`${WEB_URL}/#/t/${aecId}`);
    await tab2.waitForSelector(`${tid('ticket-form')}[data-mode="edit"]`);
    out.tab2Typed = 'Export the PDF through billing/pdf.py';
    await tab2.fill(tid('form-description'), out.tab2Typed);
    const dialogs = [];
    tab2.on('dialog', (d) => {
      dialogs.push(d.type());
      void d.dismiss();  // "stay on this page"
    });
    await tab2.evaluate(() => { location.reload(); }).catch(() => {});
    await tab2.waitForTimeout(500);
    out.beforeUnloadDialogs = dialogs;
    out.tab2KeptAfterDismiss = await tab2.inputValue(tid('form-description'));
    // The first tab saves and generates: the second tab's form gives way to the run.
    await page.click(tid('form-submit'));
    await waitStatus(tab2, 'generating', T.run).catch(() => {});
    await tab2.waitForSelector(tid('unsaved-edits'), { timeout: T.run });
    out.tab2Unsaved = await state(tab2);
    await shot(tab2, '02-unsaved-edits-kept');
    await waitStatus(page, 'awaiting_review');
    await page.click(tid('modal-edit'));
    await waitStatus(tab2, 'draft');
    await tab2.waitForSelector(tid('restored-edits'));
    out.tab2Restored = { state: await state(tab2),
      description: await tab2.inputValue(tid('form-description')) };
    await reload(page, 'draft');
    out.afterReload = await state(page);
  },

  /** Cancel at review: asks to confirm ("no" keeps it), then back to the list, gone. */
  async cancel({ context }) {
    const page = await newPage(context);
    await signInAnonymously(page);
    const aecId = await createTicket(page, CRITICAL, env('TF_SAMPLE_REPO'), null);
    out.aecId = aecId;
    await waitStatus(page, 'awaiting_review');
    await page.click(tid('modal-cancel'));
    await page.waitForSelector(tid('confirm-cancel'));
    await shot(page, '01-confirm');
    await page.click(tid('confirm-cancel-no'));
    await page.waitForSelector(tid('modal-proceed'));
    out.keptAfterNo = await state(page);
    await page.click(tid('modal-cancel'));
    await page.click(tid('confirm-cancel-yes'));
    await page.waitForFunction(() => location.hash === '#/' || location.hash === '');
    await page.waitForSelector(`${tid('list-empty')}, ${tid('ticket-list')}`);
    await page.waitForFunction(
      (id) => !document.querySelector(`[data-testid="ticket-row"][data-aec-id="${id}"]`), aecId);
    out.list = await state(page);
    await shot(page, '02-list');
    await page.goto(`${WEB_URL}/#/t/${aecId}`);
    await page.waitForSelector(`${tid('ticket-missing')}, ${tid('ticket-cancelled')}`);
    out.reopened = await page.evaluate(() =>
      document.querySelector('[data-testid="ticket-missing"]') ? 'missing' : 'cancelled');
  },

  /** Reload in the middle of a run (step 5 waits for an index that is still being
   * built) and at the questions suspension; every time the same state comes back. */
  async reload_mid_run({ context }) {
    const page = await newPage(context);
    await signInAnonymously(page);
    const aecId = await createTicket(page, VAGUE, env('TF_SLOW_REPO'), null);
    out.aecId = aecId;
    await page.waitForSelector(`${tid('step-row')}[data-step-index="5"][data-status="running"]`);
    out.beforeReload = await state(page);
    await shot(page, '01-mid-run');
    await page.reload();
    await page.waitForSelector(`${tid('step-row')}[data-step-index="5"]`);
    out.afterReload = await state(page);
    await shot(page, '02-mid-run-reloaded');
    await waitStatus(page, 'awaiting_answers');
    await page.waitForSelector(tid('questions-wizard'));
    out.atQuestions = await state(page);
    await reload(page, 'awaiting_answers');
    await page.waitForSelector(tid('questions-wizard'));
    out.afterReloadQuestions = await state(page);
    await page.click(tid('wizard-skip'));
    await waitStatus(page, 'ready');
    out.ready = await state(page);
    out.log = await recorderLog(page);
    out.backwards = monotonic(out.log);
  },

  /** Register a repository on the repositories page, watch it index (its pack
   * download is held until this scenario opens the gate), then create a ticket on it
   * and read which commit the finished ticket was validated against. */
  async repositories({ context }) {
    const page = await newPage(context);
    await signInAnonymously(page);
    await page.click(tid('nav-repos'));
    await page.waitForSelector(`${tid('repos-empty')}, ${tid('repo-list')}`);
    const url = env('TF_WATCH_REPO');
    // a misspelt URL first: the form says why, and nothing is registered
    await page.fill(tid('repo-url'), url.replace('watch.git', 'wacth.git'));
    await page.click(tid('repo-register'));
    await page.waitForSelector(tid('repo-form-error'));
    out.misspelt = {
      error: await page.textContent(tid('repo-form-error')),
      kept: await page.inputValue(tid('repo-url')),
      rows: await page.locator(tid('repo-row')).count(),
    };
    await shot(page, '00-misspelt');
    await page.fill(tid('repo-url'), url);
    await page.click(tid('repo-register'));
    await page.waitForSelector(tid('repo-notice'));
    const row = `${tid('repo-row')}`;
    await page.waitForSelector(`${row}[data-state="indexing"]`);
    out.whileHeld = await page.evaluate(() => {
      const r = document.querySelector('[data-testid="repo-row"]');
      return {
        state: r?.getAttribute('data-state'),
        badge: r?.querySelector('[data-testid="index-badge"]')?.textContent,
        url: r?.querySelector('[data-testid="repo-row-url"]')?.textContent,
        reindexDisabled: r?.querySelector('[data-testid="repo-reindex"]')?.disabled,
      };
    });
    await shot(page, '01-indexing');
    const opened = await fetch(env('TF_WATCH_GATE'), { method: 'POST' });
    out.gate = opened.status;
    await page.waitForSelector(`${row}[data-state="ready"]`, { timeout: T.run });
    out.ready = await page.evaluate(() => {
      const r = document.querySelector('[data-testid="repo-row"]');
      return {
        commit: r?.querySelector('[data-testid="index-commit"]')?.getAttribute('data-commit'),
        files: r?.querySelector('[data-testid="index-files"]')?.textContent,
        repoId: r?.getAttribute('data-repo-id'),
      };
    });
    await shot(page, '02-ready');
    await page.click(tid('repo-new-ticket'));
    await page.waitForSelector(`${tid('ticket-form')}[data-mode="new"]`);
    out.prefilled = await page.inputValue(tid('form-repo'));
    await page.fill(tid('form-title'), PLAIN.title);
    await page.fill(tid('form-description'), PLAIN.description);
    await page.click(tid('form-submit'));
    const view = await page.waitForSelector(tid('ticket-view'));
    out.aecId = await view.getAttribute('data-aec-id');
    await waitStatus(page, 'ready');
    await page.waitForSelector(`${tid('ticket-repository')}[data-state="ready"]`);
    out.ticket = await page.evaluate(() => {
      const line = document.querySelector('[data-testid="ticket-repository"]');
      return {
        commit: line?.getAttribute('data-commit'),
        shown: document.querySelector('[data-testid="ticket-commit"]')?.textContent,
        text: line?.textContent,
        paths: [...document.querySelectorAll('[data-testid="repo-paths"] li')].map(
          (li) => li.textContent),
      };
    });
    await shot(page, '03-ticket');
    // a ticket typed with a misspelt URL, or one without its scheme: refused in the
    // form with the reason, the text kept to fix, no ticket written
    await page.click(tid('back-to-list'));
    await page.waitForSelector(tid('ticket-list'));
    out.typoForm = await refusedInForm(page, url.replace('watch.git', 'wacth.git'),
      'wacth.git is not a git repository', '04-misspelt');
    out.noSchemeForm = await refusedInForm(page, 'github.com/acme/app', 'did you mean',
      '05-no-scheme');
    await page.click(tid('form-cancel'));
    await page.waitForSelector(tid('ticket-list'));
    out.listAfter = await page.locator(tid('ticket-row')).count();
  },

  /** A ready ticket's repository changed in its request editor: a misspelt URL is
   * refused there with the reason (the ticket untouched), the sample's URL is saved
   * and the ticket generated again on it. */
  async change_repository({ context }) {
    const page = await newPage(context);
    await signInAnonymously(page);
    out.aecId = await createTicket(page, PLAIN, null, null);
    await waitStatus(page, 'ready');
    await page.click(tid('request-editor-toggle'));
    await page.waitForSelector(tid('edit-repo'));
    out.before = { repo: await page.inputValue(tid('edit-repo')),
      enabled: await page.isEnabled(tid('edit-repo')) };
    const typo = env('TF_SAMPLE_REPO').replace(/sample$/, 'sampel');
    await page.fill(tid('edit-repo'), typo);
    await page.click(tid('save-ticket'));
    await page.waitForSelector(tid('edit-error'));
    out.refused = { error: await page.textContent(tid('edit-error')),
      kept: await page.inputValue(tid('edit-repo')) };
    await shot(page, '01-refused');
    await page.fill(tid('edit-repo'), env('TF_SAMPLE_REPO'));
    await page.click(tid('regenerate-button'));
    await page.waitForSelector(`${tid('ticket-repository')}[data-state="ready"]`, { timeout: T.run });
    await waitStatus(page, 'ready');
    out.after = await page.evaluate(() => ({
      commit: document.querySelector('[data-testid="ticket-repository"]')
        ?.getAttribute('data-commit'),
    }));
    out.editError = Boolean(await page.$(tid('edit-error')));
    await shot(page, '02-changed');
  },

  /** The benchmark: N tickets straight through (no suspension); the recorder's log. */
  async bench({ context }) {
    const page = await newPage(context);
    await signInAnonymously(page);
    const n = Number(env('TF_BENCH_TICKETS', '12'));
    out.tickets = [];
    for (let i = 0; i < n; i++) {
      const req = { title: `${PLAIN.title} #${i + 1}`, description: PLAIN.description };
      const aecId = await createTicket(page, req, env('TF_SAMPLE_REPO'), null);
      await waitStatus(page, 'ready');
      out.tickets.push(aecId);
      await page.click(tid('back-to-list'));
      await page.waitForSelector(tid('ticket-list'));
    }
    out.log = await recorderLog(page);
    out.clock = await page.evaluate(() => ({
      pageNow: performance.timeOrigin + performance.now(), now: Date.now() }));
  },
};

Object.assign(scenarios, pageScenarios({
  env, tid, out, shot, readme, newPage, signUp, signInAnonymously, createTicket, waitStatus,
  state, reload, currentQuestion, answer, T, WEB_URL, CRITICAL, TWO_QUESTIONS, PLAIN,
}));

async function main() {
  const scenario = scenarios[out.scenario];
  if (!scenario) throw new Error(`unknown scenario ${out.scenario}; one of ${Object.keys(scenarios)}`);
  const browser = await openBrowser();
  try {
    await scenario(browser);
    out.pageErrors = browser.errors;
    out.ok = true;
  } catch (e) {
    // What each tab showed when it failed, for the report.
    for (const [i, page] of pages.entries()) {
      try {
        out.failedAt = out.failedAt ?? [];
        out.failedAt.push(await state(page));
        await shot(page, `failed-tab${i + 1}`);
      } catch {
        // the page is gone
      }
    }
    throw e;
  } finally {
    await browser.context.close();
    fs.rmSync(browser.profile, { recursive: true, force: true });
  }
}

main()
  .catch((e) => {
    out.ok = false;
    out.error = e && e.stack ? e.stack : String(e);
  })
  .finally(() => {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    process.exitCode = out.ok ? 0 : 1;
  });
