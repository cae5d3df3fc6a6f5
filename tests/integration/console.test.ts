/**
 * The web console end to end, in a real headless Chromium (Debian's /usr/bin/chromium through playwright-core)
 * against a real `holdfast server` with an API key on 127.0.0.1 and real pipeline processes:
 *
 * log in → create a pipeline whose SQL has a typo → the error is shown at its line (list and editor marker) →
 * fix it and save → start it → ingest over the API (SDK) → the overview's counters and input-rate chart change
 * → the query tab shows the view's rows → take a checkpoint and push it to a directory bucket from the
 * Durability tab → the RPO is shown → a standby of the same bucket follows it (lag shown) → the primary's
 * process is killed (-9) and the primary stopped → Activate from the console (its explanation is checked) →
 * the standby runs and answers the same query result in the console. Then a second pipeline whose bucket
 * refuses writes: the Durability tab shows the failed periodic pushes, the retry time and the backoff; the
 * bucket is fixed and the next push's progress is seen strictly between 0 and 100% (its sync config throttles
 * it with `--bwlimit`, so that is not a race) and the failure shown as recovered; the pipeline is stopped, its
 * program changed in the editor and started → AwaitingApproval with the program diff (added, removed and
 * modified views) → Approve → Running, and the added view answers a query computed from the checkpoint.
 *
 * Along the way: screenshots of the main pages into docs/screenshots/ (shown in the README), axe-core on each
 * main page (no serious or critical violation), a phone-sized viewport on the list and a pipeline page, and
 * the API key never appears in a URL. The console is built first (scripts/console.ts), so the test runs the
 * current sources.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildConsole } from '../../scripts/console.ts';
import { HoldfastClient, Pipeline } from '../../src/client/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/bin/main.ts');
const SHOTS = join(ROOT, 'docs', 'screenshots');
const KEY = 'console-test-key';
const CHROMIUM = '/usr/bin/chromium';

const TYPO_SQL = `CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, region VARCHAR, amount INT);
CREATE MATERIALIZED VIEW region_totals AS
  SELECT region, SUM(amount) AS total, COUNT(*) AS n FROM orderz GROUP BY region;`;
const SQL = TYPO_SQL.replace('orderz', 'orders');

// a second pipeline: its pushes fail (the bucket refuses writes), back off and recover; then its program changes
// and the restart waits for the bootstrap's approval
const LEDGER_SQL = `CREATE TABLE ledger (id INT NOT NULL PRIMARY KEY, account VARCHAR, note VARCHAR, amount INT);
CREATE MATERIALIZED VIEW balances AS
  SELECT account, SUM(amount) AS balance, COUNT(*) AS entries FROM ledger GROUP BY account;
CREATE MATERIALIZED VIEW large_entries AS SELECT id, account, note, amount FROM ledger WHERE amount >= 10;`;
const TOP_BALANCE = 17950;
const LEDGER_SQL2 = `CREATE TABLE ledger (id INT NOT NULL PRIMARY KEY, account VARCHAR, note VARCHAR, amount INT);
CREATE MATERIALIZED VIEW balances AS
  SELECT account, SUM(amount) AS balance, COUNT(*) AS entries, MAX(amount) AS largest FROM ledger GROUP BY account;
CREATE MATERIALIZED VIEW top_accounts AS
  SELECT account, balance, largest FROM balances WHERE balance > ${TOP_BALANCE};`;
const LEDGER_ROWS = Array.from({ length: 3000 }, (_, i) => ({
  id: i,
  account: `acct-${i % 8}`,
  note: `entry ${i}: ${'x'.repeat(60)}`,
  amount: i % 97,
}));

const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-console-'));
const bucket = join(dataDir, 'bucket');
mkdirSync(bucket);
let server: ChildProcess | null = null;
let browser: Browser | null = null;
const serverLog: string[] = [];

after(async () => {
  await browser?.close().catch(() => {});
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

function runtimeConfig(): Record<string, unknown> {
  return {
    fault_tolerance: { model: 'exactly_once' },
    storage: {
      backend: {
        name: 'file',
        config: {
          sync: {
            bucket: 'console/orders',
            endpoint: `file://${bucket}`,
            start_from_checkpoint: 'latest',
            pull_interval: 1,
          },
        },
      },
    },
  };
}

/**
 * The ledger's sync: periodic pushes every second to a second directory bucket, throttled by rclone's
 * `--bwlimit` (5 KiB/s: its ~40 KB checkpoint takes ~7 s to push, so a progress between 0 and 100% is on
 * screen for seconds, not by luck).
 */
function ledgerConfig(bucketDir: string): Record<string, unknown> {
  return {
    fault_tolerance: { model: 'exactly_once' },
    storage: {
      backend: {
        name: 'file',
        config: {
          sync: {
            bucket: 'ledger/main',
            endpoint: `file://${bucketDir}`,
            push_interval: 1,
            flags: ['--bwlimit', '5K'],
          },
        },
      },
    },
  };
}

async function startServer(): Promise<string> {
  server = spawn(
    process.execPath,
    [MAIN, 'server', '--data-dir', join(dataDir, 'data'), '--port', '0', '--api-key', KEY],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // the manager's log (requests aside), shown when the test fails
  createInterface({ input: server.stderr as NodeJS.ReadableStream }).on('line', (l) => {
    if (l.includes('"method":')) return;
    serverLog.push(l);
    if (serverLog.length > 80) serverLog.shift();
  });
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: server?.stdout as NodeJS.ReadableStream }).once('line', res);
    server?.once('exit', (code) => rej(new Error(`holdfast server exited (${code})`)));
  });
  return (JSON.parse(line) as { url: string }).url;
}

/** Runs axe-core in the page; fails on any serious or critical violation. */
async function axe(page: Page, what: string): Promise<void> {
  const source = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.addScriptTag({ content: source });
  // a string: this file is type-checked without the DOM library
  const violations = (await page.evaluate(`(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)),
    }));
  })()`)) as Array<{ id: string; impact: string; help: string; nodes: string[] }>;
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe on ${what}: ${JSON.stringify(bad, null, 2)}`);
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

/** The pipeline's process id, found by its config path in /proc (the manager does not publish it). */
function pipelinePid(id: string): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(join('pipelines', id, 'config.json'))) return Number(d);
    } catch {}
  }
  throw new Error(`no process for pipeline ${id}`);
}

test('the console drives a pipeline from a typo to a failover', { timeout: 240_000 }, async (t) => {
  const t0 = Date.now();
  const lap = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  assert.ok(
    existsSync(CHROMIUM),
    `this test drives Debian's chromium at ${CHROMIUM}: install it (apt-get install chromium), as .ci/run does`,
  );
  const [url] = await Promise.all([startServer(), buildConsole()]);
  mkdirSync(SHOTS, { recursive: true });
  const client = new HoldfastClient({ url, apiKey: KEY });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  // bypassCSP: axe-core is injected as an inline script, which the console's policy (rightly) refuses
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  const page = await context.newPage();
  const urls: string[] = [];
  const external: string[] = [];
  page.on('request', (r) => {
    urls.push(r.url());
    if (!r.url().startsWith(url) && !r.url().startsWith('data:')) external.push(r.url());
  });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(20_000);

  try {
    // log in: the server wants the key; a wrong one is refused
    await page.goto(`${url}/`);
    await page.getByLabel('API key').fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('The API key is not valid.').waitFor();
    await axe(page, 'login');
    await shot(page, 'login');
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Pipelines' }).waitFor();
    // the key lives in this tab's sessionStorage only
    assert.deepEqual(
      await page.evaluate(
        "[sessionStorage.getItem('holdfast.apiKey'), localStorage.length, document.cookie]",
      ),
      [KEY, 0, ''],
    );
    // a reload keeps the session (no login form); the first Tab reaches the skip link
    await page.reload();
    await page.getByRole('heading', { name: 'Pipelines' }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Skip to content');
    t.diagnostic(`logged in: ${lap()}`);

    // create with a typo: the error is shown at its line, in the list and as a marker in the editor
    await page.getByRole('link', { name: 'New pipeline' }).first().click();
    await page.getByLabel('Name').fill('orders');
    await page.locator('.cm-content').fill(TYPO_SQL);
    await page.getByLabel('Runtime config (JSON)').fill(JSON.stringify(runtimeConfig(), null, 2));
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    const errorItem = page.locator('.compile-errors li.error').first();
    await errorItem.waitFor();
    assert.match((await errorItem.textContent()) ?? '', /^line 3, column \d+: .*orderz/i);
    await page.locator('.cm-lintRange-error').first().waitFor();
    assert.match((await page.locator('.cm-lintRange-error').first().textContent()) ?? '', /orderz/i);
    await shot(page, 'compile-error');
    await axe(page, 'program editor');
    t.diagnostic(`typo shown at its line: ${lap()}`);

    // fix it (select all, type the right SQL), save with the keyboard
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.locator('.cm-content').fill(SQL);
    await page.keyboard.press('Control+S');
    await page.getByText('Saved; program status Success.').waitFor();
    assert.equal(await page.locator('.compile-errors').count(), 0);

    // start from the pipeline page
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.locator('.status-line .badge', { hasText: 'Running' }).waitFor({ timeout: 30_000 });
    t.diagnostic(`running: ${lap()}`);

    // ingest over the API: the counters and the input-rate chart change
    await page.locator('[data-testid=total-input]').waitFor();
    const orders = new Pipeline(client, 'orders');
    const rows = Array.from({ length: 50 }, (_, i) => ({
      id: i,
      region: i % 2 ? 'north' : 'south',
      amount: i,
    }));
    await orders.inputJson('orders', rows, { wait: true });
    await page.locator('[data-testid=total-input]', { hasText: '50' }).waitFor();
    await page.waitForFunction(
      "[...document.querySelectorAll('.chart [role=img]')].some((e) => /input [1-9]/.test(e.getAttribute('aria-label') ?? ''))",
    );
    // step latency comes from the /metrics histogram; steps per second from /stats (its peak in the window)
    await page.waitForFunction(
      "[...document.querySelectorAll('.chart [role=img]')].some((e) => /\\d+\\.\\d\\d ms per step/.test(e.getAttribute('aria-label') ?? ''))",
    );
    await page.waitForFunction(
      "[...document.querySelectorAll('.chart [role=img]')].some((e) => { const m = /^Steps per second: .*peak ([\\d.,]+)$/.exec(e.getAttribute('aria-label') ?? ''); return m !== null && Number(m[1].replaceAll(',', '')) > 0; })",
    );
    await page.getByRole('heading', { name: 'Tables and views' }).waitFor();
    await shot(page, 'pipeline-overview');
    await axe(page, 'pipeline overview');
    t.diagnostic(`ingested, chart moved: ${lap()}`);

    // the query tab: the view's rows; an INSERT goes through the same box
    await page.getByRole('link', { name: 'Query' }).click();
    await page.getByLabel(/^SQL/).fill('SELECT region, total, n FROM region_totals ORDER BY region');
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.getByText('2 rows').waitFor();
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's rendered text (cells tab-separated)
    const table = async () => page.locator('table.result tbody').innerText();
    assert.deepEqual(
      (await table()).split('\n').map((l) => l.split('\t')),
      [
        ['north', '625', '25'],
        ['south', '600', '25'],
      ],
    );
    await page.getByLabel(/^SQL/).fill("INSERT INTO orders VALUES (100, 'east', 7)");
    await page.getByLabel(/^SQL/).press('Control+Enter');
    await page.getByText(/row.* in \d+ ms/).waitFor();
    await page.getByLabel(/^SQL/).fill('SELECT region, total, n FROM region_totals ORDER BY region');
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.getByText('3 rows').waitFor();
    const before = await table();
    await shot(page, 'query');
    await axe(page, 'query');
    t.diagnostic(`queried: ${lap()}`);

    // the log tail: lines arrive; the level filter hides the info lines
    await page.getByRole('link', { name: 'Logs' }).click();
    await page.locator('.log-line.level-info').first().waitFor();
    await page.getByLabel('Least severe level').selectOption('error');
    assert.equal(await page.locator('.log-line.level-info').count(), 0);
    await page.getByLabel('Least severe level').selectOption('info');
    await page.locator('.log-line.level-info').first().waitFor();
    await axe(page, 'logs');

    // durability: take a checkpoint and push it to the directory bucket; the RPO appears
    await page.getByRole('link', { name: 'Durability' }).click();
    await page.getByRole('button', { name: 'Take checkpoint' }).click();
    await page.getByText(/Checkpoint \d+ taken/).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Push to bucket' }).click();
    await page.getByText(/Pushed checkpoint \w+ to the bucket/).waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=rpo] .card-value', { hasText: /\d+ s/ }).waitFor({ timeout: 30_000 });
    await page.locator('table.checkpoints tbody tr', { hasText: 'local + bucket' }).first().waitFor();
    await page.getByText(/files \(\d+ already there\)/).waitFor(); // the last push, from /stats
    // the bucket's owner: this pipeline, under the first epoch; each checkpoint says who pushed it
    await page.getByText(/owner orders \(epoch 1\)/).waitFor();
    await page
      .locator('table.checkpoints tbody tr', { hasText: 'local + bucket' })
      .first()
      .getByText('orders')
      .waitFor();
    await shot(page, 'durability');
    await axe(page, 'durability');
    t.diagnostic(`pushed, RPO shown: ${lap()}`);

    // a standby of the same bucket (created and started over the API) follows the primary
    await Pipeline.create(client, { name: 'orders-dr', sql: SQL, runtimeConfig: runtimeConfig() });
    await new Pipeline(client, 'orders-dr').start({ initial: 'standby', timeoutMs: 30_000 });
    await page.goto(`${url}/#/p/orders-dr/durability`);
    await page.locator('[data-testid=standby-lag]', { hasText: /\d+ s/ }).waitFor({ timeout: 30_000 });
    t.diagnostic(`standby following: ${lap()}`);

    // the primary's process dies (kill -9) and the primary is stopped; activate the standby from the console
    const primary = await client.getPipeline('orders', 'all');
    process.kill(pipelinePid(primary.id), 'SIGKILL');
    await client.stopPipeline('orders', true);
    await page.getByRole('button', { name: 'Activate…' }).click();
    const explanation = (await page.locator('.confirm p').textContent()) ?? '';
    assert.match(explanation, /takes the bucket over/);
    assert.match(explanation, /fenced/);
    await shot(page, 'standby-activate');
    await axe(page, 'standby');
    await page.getByRole('button', { name: 'Activate now' }).click();
    await page.locator('.status-line .badge', { hasText: 'Running' }).waitFor({ timeout: 40_000 });
    t.diagnostic(`activated: ${lap()}`);

    await page.getByRole('link', { name: 'Query' }).click();
    await page.getByLabel(/^SQL/).fill('SELECT region, total, n FROM region_totals ORDER BY region');
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.getByText('3 rows').waitFor();
    assert.equal(await table(), before);
    // its Durability tab shows the takeover: the bucket's owner epoch went up
    await page.getByRole('link', { name: 'Durability' }).click();
    await page.getByText(/owner orders-dr \(epoch 2\); this pipeline took it over at/).waitFor();

    // the ledger: its bucket refuses writes. The bucket's directory is a plain file, so every write fails, for
    // root too (a read-only chmod would not stop root, and CI runs as root).
    const bucket2 = join(dataDir, 'bucket2');
    const blocker = join(bucket2, 'ledger', 'main');
    await Pipeline.create(client, { name: 'ledger', sql: LEDGER_SQL, runtimeConfig: ledgerConfig(bucket2) });
    const ledger = new Pipeline(client, 'ledger');
    await ledger.start({ timeoutMs: 60_000 });
    mkdirSync(join(bucket2, 'ledger'), { recursive: true });
    writeFileSync(blocker, 'in the way of the bucket');
    await ledger.inputJson('ledger', LEDGER_ROWS, { wait: true });
    await page.goto(`${url}/#/p/ledger/durability`);
    await page.getByRole('button', { name: 'Take checkpoint' }).click();
    await page.getByText(/Checkpoint \d+ taken/).waitFor({ timeout: 30_000 });
    // the periodic push fails and is retried with a growing backoff: the failure, the retry time, the backoff
    await page
      .locator('[data-testid=push-error]', {
        hasText: /Last push failed at .*is not a directory\. Retrying in \d+ s \(backoff \d+ s/,
      })
      .waitFor({ timeout: 30_000 });
    await page
      .locator('[data-testid=push-schedule]', {
        hasText: /retry in \d+ s; [2-9] failed in a row, backing off \d+ s/,
      })
      .waitFor({ timeout: 30_000 });
    await shot(page, 'push-backoff');
    await axe(page, 'durability (push failing)');
    t.diagnostic(`push failing, backing off: ${lap()}`);

    // the bucket is fixed: the next retry pushes, its progress is seen strictly between 0 and 100%, and the
    // failure is shown as recovered
    rmSync(blocker);
    await page.waitForFunction(
      "(() => { const p = document.querySelector('.push-progress progress'); return p !== null && p.value > 0 && p.value < p.max; })()",
      undefined,
      { timeout: 30_000 },
    );
    const percent = Number(
      (await page.locator('[data-testid=push-percent]').textContent())?.replace('%', ''),
    );
    assert.ok(percent > 0 && percent < 100, `a push seen mid-way: ${percent}%`);
    await shot(page, 'push-progress');
    await page
      .locator('[data-testid=push-error]', { hasText: /followed by a successful one .*pushes work again/ })
      .waitFor({ timeout: 30_000 });
    await page.locator('table.checkpoints tbody tr', { hasText: 'local + bucket' }).first().waitFor();
    assert.doesNotMatch((await page.locator('[data-testid=push-schedule]').textContent()) ?? '', /in a row/);
    t.diagnostic(`bucket fixed, pushed (seen at ${percent}%): ${lap()}`);

    // a new program for the stopped ledger (its checkpoint kept): the start waits for approval of the diff
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.locator('.status-line .badge', { hasText: 'Stopped' }).waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: 'Program' }).click();
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.locator('.cm-content').fill(LEDGER_SQL2);
    await page.keyboard.press('Control+S');
    await page.getByText('Saved; program status Success.').waitFor();
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.locator('.status-line .badge', { hasText: 'AwaitingApproval' }).waitFor({ timeout: 40_000 });
    const diff = page.locator('[data-testid=approval-diff]');
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's rendered text (one line per dt/dd)
    const diffText = (await diff.innerText())
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    assert.deepEqual(diffText, [
      'Added views',
      'top_accounts',
      'Removed views',
      'large_entries',
      'Modified views',
      'balances',
    ]);
    await shot(page, 'bootstrap-approval');
    await axe(page, 'bootstrap approval');
    await page.getByRole('button', { name: 'Approve bootstrap' }).click();
    await page.locator('.status-line .badge', { hasText: 'Running' }).waitFor({ timeout: 40_000 });
    assert.equal(await page.locator('[data-testid=approval-diff]').count(), 0);
    t.diagnostic(`bootstrap approved: ${lap()}`);
    // the new view, computed from the checkpointed table
    await page.getByRole('link', { name: 'Query' }).click();
    await page.getByLabel(/^SQL/).fill('SELECT account, balance, largest FROM top_accounts ORDER BY account');
    await page.getByRole('button', { name: 'Run query' }).click();
    const totals = new Map<string, { balance: number; largest: number }>();
    for (const r of LEDGER_ROWS) {
      const a = totals.get(r.account) ?? { balance: 0, largest: 0 };
      totals.set(r.account, { balance: a.balance + r.amount, largest: Math.max(a.largest, r.amount) });
    }
    const expected = [...totals]
      .filter(([, v]) => v.balance > TOP_BALANCE)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, String(v.balance), String(v.largest)]);
    assert.ok(expected.length > 0 && expected.length < totals.size);
    await page.getByText(`${expected.length} rows`).waitFor();
    assert.deepEqual(
      (await table()).split('\n').map((l) => l.split('\t')),
      expected,
    );

    // the list, at desktop and phone size
    await page.goto(`${url}/#/`);
    await page.locator('tr[data-pipeline=orders-dr] .badge', { hasText: 'Running' }).waitFor();
    await shot(page, 'pipelines');
    await axe(page, 'pipelines');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'pipelines-phone');
    await page.goto(`${url}/#/p/orders-dr`);
    await page.getByRole('heading', { name: 'Connectors' }).waitFor();
    await shot(page, 'pipeline-phone');
    await axe(page, 'pipeline page (phone)');

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    assert.deepEqual(external, [], 'no request leaves the server');
    assert.ok(!urls.some((u) => u.includes(KEY)), 'the API key is never in a URL');
    t.diagnostic(`done: ${lap()}`);
  } catch (e) {
    // what the page showed when it failed: a screenshot and its text
    const file = join(tmpdir(), `holdfast-console-failure-${process.pid}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    const main = page.locator('main');
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's rendered text, as a user reads it
    const said = await main.innerText().catch(() => '?');
    t.diagnostic(
      `failed at ${lap()} on ${page.url()}; screenshot ${file}; the page said:\n${said}\nthe server's last log lines:\n${serverLog.join('\n')}`,
    );
    throw e;
  }
});
