// Scenarios of the page as a product (driver.mjs runs them; its helpers come in `h`):
// a user switch, an error answer of the functions, the first load, and a person
// signing in again after `ticketflow dev` restarted, and the first run on the sample.

export function pageScenarios(h) {
  const { env, tid, out, shot, newPage, signUp, createTicket, waitStatus, state, T, WEB_URL,
    PLAIN, CRITICAL } = h;

  /** Text that must never be on screen after the next change of the page: every change
   * that leaves it there is logged. */
  async function forbid(page, text) {
    await page.evaluate((t) => {
      window.__tfSeen = [];
      const check = () => {
        if (document.body.innerText.includes(t)) window.__tfSeen.push(location.hash);
      };
      window.__tfForbid = new MutationObserver(check);
      window.__tfForbid.observe(document.body, { subtree: true, childList: true,
        characterData: true });
    }, text);
  }

  async function signOut(page) {
    await page.click(tid('signout'));
    await page.waitForSelector(tid('signin'));
  }

  async function signInWith(page, email, password) {
    await page.fill(tid('signin-email'), email);
    await page.fill(tid('signin-password'), password);
    await page.click(tid('signin-submit'));
    await page.waitForSelector(tid('user-id'));
  }

  return {
    /** Signed out on a ticket page, signed in as someone else: the previous user's
     * ticket is never on screen again, and the ticket page says, in words, that this
     * user has no access. A ticket that was deleted says that it no longer exists. */
    async user_switch({ context }) {
      const page = await newPage(context);
      const first = await signUp(page);
      const title = `${PLAIN.title} (private ${Date.now()})`;
      const aecId = await createTicket(page, { ...PLAIN, title }, env('TF_SAMPLE_REPO'), null);
      out.aecId = aecId;
      await waitStatus(page, 'ready');
      out.firstUid = first.uid;
      await forbid(page, title);
      await signOut(page);
      out.seenAfterSignOut = await page.evaluate(() => window.__tfSeen.slice());
      // Another person signs in on the same tab, still at the first one's ticket URL.
      const email = `e2e-other-${Date.now()}@example.com`;
      await page.fill(tid('signin-email'), email);
      await page.fill(tid('signin-password'), 'pw-e2e-123456');
      await page.click(tid('signup-submit'));
      await page.waitForSelector(tid('user-id'));
      out.secondUid = await page.getAttribute(tid('user-id'), 'data-uid');
      await page.goto(`${WEB_URL}/#/t/${aecId}`);
      await page.waitForSelector(tid('load-error'));
      out.denied = await state(page);
      await shot(page, '01-no-access');
      await page.goto(`${WEB_URL}/#/`);
      await page.waitForSelector(`${tid('list-empty')}, ${tid('ticket-list')}`);
      out.secondList = await state(page);
      out.seen = await page.evaluate(() => window.__tfSeen?.slice() ?? []);
      // The first person again: their ticket is there.
      await signOut(page);
      await signInWith(page, first.email, first.password);
      await page.goto(`${WEB_URL}/#/t/${aecId}`);
      await waitStatus(page, 'ready', T.step);
      out.backAsFirst = await state(page);
      // A ticket id that does not exist (or was deleted): in words.
      await page.goto(`${WEB_URL}/#/t/no-such-ticket-${Date.now()}`);
      await page.waitForSelector(`${tid('ticket-missing')}, ${tid('load-error')}`);
      out.missingText = await page.evaluate(() =>
        (document.querySelector('[data-testid="ticket-missing"]') ??
          document.querySelector('[data-testid="load-error"]')).textContent);
    },

    /** The functions answer with an error: the page shows the message they sent (the
     * answer carries CORS headers), not "Failed to fetch". TF_FUNCTIONS_URL points
     * the page at a functions process that cannot build its app. */
    async functions_error({ context }) {
      const broken = env('TF_FUNCTIONS_URL');
      await context.route('**/config.js', async (route) => {
        const resp = await route.fetch();
        const body = (await resp.text()).replace(/"functionsUrl": "[^"]*"/,
          `"functionsUrl": "${broken}"`);
        await route.fulfill({ response: resp, body });
      });
      const page = await newPage(context);
      await signUp(page);
      const aecId = await createTicket(page, PLAIN, env('TF_SAMPLE_REPO'), null);
      out.aecId = aecId;
      await page.waitForSelector(tid('api-error'));
      out.view = await state(page);
      await shot(page, '01-functions-error');
    },

    /** The first load: the sign-in screen loads the small entry chunk only; the
     * signed-in screens' chunk (with Firestore) comes once someone signs in. */
    async first_load({ context }) {
      const page = await newPage(context);
      await page.goto(WEB_URL);
      await page.waitForSelector(tid('signin'));
      await page.waitForLoadState('networkidle');
      out.atSignIn = out.scripts.slice();
      await page.click(tid('signin-anonymous'));
      await page.waitForSelector(`${tid('list-empty')}, ${tid('ticket-list')}`);
      out.afterSignIn = out.scripts.slice();
      out.placeholder = await (async () => {
        await page.click(tid('new-ticket-button'));
        await page.waitForSelector(tid('form-repo'));
        return page.getAttribute(tid('form-repo'), 'placeholder');
      })();
    },

    /** A person who signed up before a restart of `ticketflow dev` signs in again and
     * finds their ticket (TF_EMAIL, TF_PASSWORD, TF_AEC_ID). */
    async sign_in_again({ context }) {
      const page = await newPage(context);
      await page.goto(WEB_URL);
      await page.waitForSelector(tid('signin'));
      await signInWith(page, env('TF_EMAIL'), env('TF_PASSWORD'));
      await page.waitForSelector(`${tid('list-empty')}, ${tid('ticket-list')}`);
      out.list = await state(page);
      const aecId = env('TF_AEC_ID');
      await page.goto(`${WEB_URL}/#/t/${aecId}`);
      await waitStatus(page, 'ready', T.step);
      out.ticket = await state(page);
      await shot(page, '01-after-restart');
    },

    /** A new person's first ticket under `ticketflow dev`: the new-ticket form offers
     * the sample repository; using it registers and indexes it (shown live) and fills
     * the repository field; a ticket on it stops at the review, then at the questions. */
    async first_run({ context }) {
      const page = await newPage(context);
      await signUp(page);
      await page.click(tid('new-ticket-button'));
      await page.waitForSelector(`${tid('ticket-form')}[data-mode="new"]`);
      await page.waitForSelector(tid('sample-offer'));
      out.offered = await page.textContent(tid('sample-url'));
      out.offerStateBefore = await page.getAttribute(tid('sample-offer'), 'data-state');
      out.repoBefore = await page.inputValue(tid('form-repo'));
      await shot(page, '01-sample-offered');
      await page.click(tid('sample-use'));
      await page.waitForSelector(`${tid('sample-offer')}[data-state="ready"]`, { timeout: T.run });
      out.repoAfter = await page.inputValue(tid('form-repo'));
      out.sampleError = Boolean(await page.$(tid('sample-error')));
      await shot(page, '02-sample-indexed');
      await page.fill(tid('form-title'), CRITICAL.title);
      await page.fill(tid('form-description'), CRITICAL.description);
      await page.click(tid('form-submit'));
      const view = await page.waitForSelector(tid('ticket-view'));
      out.aecId = await view.getAttribute('data-aec-id');
      await waitStatus(page, 'awaiting_review');
      await page.waitForSelector(tid('findings-modal'));
      out.atReview = await state(page);
      await shot(page, '03-review');
      await page.click(tid('modal-proceed'));
      await waitStatus(page, 'awaiting_answers');
      await page.waitForSelector(tid('questions-wizard'));
      out.atQuestions = await state(page);
      await shot(page, '04-questions');
    },
  };
}
