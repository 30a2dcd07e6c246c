#!/usr/bin/env node
// README's "The tutorial with Docker Compose", run for real (scripts/container-test sets up
// the engine and the images first). Every command comes from README's compose section,
// read at run time, so README is what is tested:
//
//   for each `docker compose ... up --build` README lists (SQLite, PostgreSQL, MySQL, and
//   PostgreSQL + tracing + Prometheus):
//     1. the `up --build`, in the foreground as README runs it (its log kept);
//     2. the first half: `exec latch latch create client` (client credentials),
//        `perform client-credentials` with the printed id and secret, `introspect token`;
//     3. the second half: the code-flow client, then `exec latch latch token user`, whose
//        start page headless Chromium on the host opens through the published port 5555;
//        it logs in as the demo user on the consent service (port 3000), allows access,
//        and reads the tokens on the callback page; `token user` prints the same ones, and
//        their introspection names the demo user;
//     4. `restart latch`: the clients and tokens are still there (volume or database);
//     5. with the tracing overlay: the Jaeger stand-in's query API has Latch's spans; with
//        the Prometheus overlay: Prometheus's own API shows the target up and its samples;
//     6. README's `down -v` with the same files: no container, volume or port left.
//
// `docker compose` in README is run as $COMPOSE (default `docker-compose`, Debian's; same
// arguments). `exec` gets a terminal, as in a user's shell (util-linux `script`).
//
// Usage: node tests/browser/quickstart-compose.mjs   (from anywhere; needs the engine up)
// Prints "ok - ..." per check; exits 1 on the first failure, after `down -v`.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const COMPOSE = (process.env.COMPOSE || 'docker-compose').split(' ');
const ENGINE = process.env.ENGINE || 'podman';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const EMAIL = 'foo@bar.com';
const PASSWORD = 'foobar';
/** The first `up --build` compiles Latch in release mode; later ones reuse the layers. */
const FIRST_UP_MS = 60 * 60_000;
const UP_MS = 5 * 60_000;
const STEP_MS = 60_000;

let passed = 0;
class CheckFailed extends Error {}
function ok(what) {
  passed += 1;
  console.log(`ok - ${what}`);
}
function fail(what, details) {
  console.log(`not ok - ${what}`);
  throw new CheckFailed(details ? `${what}\n${details}` : what);
}
function check(cond, what, details) {
  if (cond) ok(what);
  else fail(what, typeof details === 'function' ? details() : details);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const clip = (t, n = 4000) => (t.length > n ? `… ${t.slice(-n)}` : t);

// ---------------------------------------------------------------------------------------
// README's compose section

/** README's commands in the compose section: { text, words, files, sub } each. */
function readmeCommands() {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## The tutorial with Docker Compose\n');
  if (start < 0) fail('README has the section "The tutorial with Docker Compose"');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const commands = [];
  for (const [, block] of section.matchAll(/```bash\n([\s\S]*?)```/g)) {
    let pending = '';
    for (const line of block.split('\n')) {
      const code = line.replace(/(^|\s)#.*$/, '').trimEnd();
      if (!code.trim() && !pending) continue;
      if (code.endsWith('\\')) {
        pending += `${code.slice(0, -1)} `;
        continue;
      }
      const text = (pending + code).trim().replace(/\s+/g, ' ');
      pending = '';
      if (!text) continue;
      const words = text.split(/\s+/);
      if (words[0] !== 'docker' || words[1] !== 'compose') {
        fail('every command of README\'s compose section is a `docker compose` command', text);
      }
      const files = [];
      let i = 2;
      while (words[i] === '-f') {
        files.push(words[i + 1]);
        i += 2;
      }
      commands.push({ text, words, files, sub: words.slice(i) });
    }
  }
  return commands;
}

function findCommand(commands, what, pred) {
  const found = commands.filter((c) => pred(c.sub.join(' ')));
  if (found.length !== 1) fail(`README's compose section has one command to ${what}`, `found ${found.length}`);
  return found[0];
}

/** The argv of README command `cmd`, with `docker compose` as $COMPOSE and <placeholders> filled. */
function argv(cmd, fill = {}, files = cmd.files) {
  const sub = cmd.sub.map((w) => w.replace(/<([a-z-]+)>/g, (m, name) => {
    if (!(name in fill)) fail(`a value for ${m} in \`${cmd.text}\``);
    return fill[name];
  }));
  return [...COMPOSE, ...files.flatMap((f) => ['-f', f]), ...sub];
}

const shellQuote = (w) => `'${w.replace(/'/g, `'\\''`)}'`;

// ---------------------------------------------------------------------------------------
// Processes

const running = new Set();

/** Starts argv; `tty` runs it on a pseudo-terminal (util-linux `script`), as typed in a shell. */
function start(name, args, { tty = false, log } = {}) {
  const [cmd, ...rest] = tty ? ['script', '-q', '-e', '-c', args.map(shellQuote).join(' '), '/dev/null'] : args;
  const child = spawn(cmd, rest, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const proc = { name, args, child, out: '', code: undefined };
  const sink = log ? fs.createWriteStream(log) : undefined;
  const take = (b) => {
    proc.out += b.toString().replace(/\r\n/g, '\n');
    sink?.write(b);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  running.add(proc);
  proc.exited = new Promise((resolve) => {
    child.on('error', (e) => {
      proc.out += `\n[spawn error: ${e.message}]`;
      proc.code = 'spawn-error';
      running.delete(proc);
      resolve(proc.code);
    });
    child.on('close', (code, signal) => {
      proc.code = code ?? signal;
      running.delete(proc);
      sink?.end();
      resolve(proc.code);
    });
  });
  return proc;
}

async function run(name, args, opts = {}) {
  const proc = start(name, args, opts);
  const timer = setTimeout(() => kill(proc), opts.timeout ?? STEP_MS);
  await proc.exited;
  clearTimeout(timer);
  return proc;
}

function kill(proc) {
  if (proc.code !== undefined) return;
  try {
    process.kill(-proc.child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

const describe = (p) => `--- ${p.args.join(' ')} (exit ${p.code ?? 'running'}):\n${clip(p.out.trimEnd() || '(no output)')}`;

/** Runs README command `cmd` on a terminal; fails unless it exits 0. */
async function runReadme(name, cmd, fill, files) {
  const proc = await run(name, argv(cmd, fill, files), { tty: true });
  check(proc.code === 0, `\`${cmd.text}\` exits 0`, () => describe(proc));
  return proc.out;
}

function engine(args) {
  const r = spawnSync(ENGINE, args, { encoding: 'utf8' });
  if (r.status !== 0) fail(`${ENGINE} ${args.join(' ')}`, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

async function getJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

/** Polls until `probe()` returns a truthy value; fails early if `proc` ends. */
async function waitFor(what, probe, { ms = STEP_MS, proc } = {}) {
  const deadline = Date.now() + ms;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc && proc.code !== undefined) fail(what, `\`${proc.args.join(' ')}\` ended\n${describe(proc)}`);
    try {
      const v = await probe();
      if (v) return v;
      last = 'not yet';
    } catch (e) {
      last = e.cause?.code || e.message;
    }
    await sleep(500);
  }
  return fail(what, `within ${ms / 1000} s; last try: ${last}${proc ? `\n${describe(proc)}` : ''}`);
}

const answers = (url) => async () => (await fetch(url, { signal: AbortSignal.timeout(3000) })).status === 200;

/** The JSON object in a command's output (compose may print warnings around it). */
function jsonIn(text, what) {
  const from = text.indexOf('{');
  const to = text.lastIndexOf('}');
  try {
    return JSON.parse(text.slice(from, to + 1));
  } catch {
    return fail(`${what} prints JSON`, text);
  }
}

/** The value under "LABEL:" in `token user`'s output (the next line, tab-indented). */
function printed(out, label) {
  const m = out.match(new RegExp(`^${label}:\\n\\t(.*)$`, 'm'));
  return m ? m[1].trim() : undefined;
}

// ---------------------------------------------------------------------------------------
// One combination of compose files

async function tutorial({ up, commands, browser, tmp, first }) {
  const files = up.files;
  const label = files.join(' + ');
  console.log(`\n# ${up.text}`);
  const cmd = (what, pred) => findCommand(commands, what, pred);
  const createCc = cmd('create the client-credentials client', (s) => s.startsWith('exec latch latch create client') && s.includes('client_credentials'));
  const perform = cmd('perform client credentials', (s) => s.startsWith('exec latch latch perform client-credentials'));
  const introspect = cmd('introspect a token', (s) => s.startsWith('exec latch latch introspect token'));
  const createCode = cmd('create the code-flow client', (s) => s.startsWith('exec latch latch create client') && s.includes('authorization_code'));
  const tokenUser = cmd('run the example client', (s) => s.startsWith('exec latch latch token user'));
  const restart = cmd('restart the server', (s) => s === 'restart latch');
  const down = cmd('bring everything down', (s) => s === 'down -v');

  const containersBefore = engine(['ps', '-aq']);
  const volumesBefore = engine(['volume', 'ls', '-q']);
  const log = path.join(tmp, `up-${files.length}-${path.basename(files.at(-1), '.yml')}.log`);
  const upProc = start('up', argv(up), { log });
  try {
    // 1. Up: the three ports the tutorial uses, from the host.
    for (const url of ['http://127.0.0.1:4445/health/ready', 'http://127.0.0.1:4444/health/ready', 'http://127.0.0.1:3000/']) {
      await waitFor(`${url} answers 200 from the host`, answers(url), { ms: first ? FIRST_UP_MS : UP_MS, proc: upProc });
    }
    ok(`${label}: \`up --build\` serves 4444, 4445 and 3000 on the host's 127.0.0.1`);

    // 2. The first half.
    const client = jsonIn(await runReadme('create-client', createCc), 'create client --format json');
    check(client.client_id && client.client_secret && client.grant_types?.includes('client_credentials'),
      'create client prints the new client\'s id, secret and grant type', JSON.stringify(client));
    const fill = { id: client.client_id, secret: client.client_secret };
    const tokenOf = (out) => out.match(/^ACCESS TOKEN\s+(\S+)/m)?.[1];
    const performed = await runReadme('perform', perform, fill);
    const token = tokenOf(performed);
    check(token, 'perform client-credentials prints an ACCESS TOKEN', performed);
    const info = jsonIn(await runReadme('introspect', introspect, { ...fill, token }), 'introspect token');
    check(info.active === true && info.client_id === client.client_id,
      'introspect token: the token is active and belongs to the client', JSON.stringify(info));

    // 3. The second half, through the published ports, in a browser on the host.
    await runReadme('create-code-client', createCode);
    const cb = tokenUser.sub.includes('--port') ? tokenUser.sub[tokenUser.sub.indexOf('--port') + 1] : fail('token user --port');
    const cbUrl = `http://127.0.0.1:${cb}`;
    const user = start('token-user', argv(tokenUser), { tty: true });
    await waitFor(`token user's start page answers on ${cbUrl}/ from the host`, answers(`${cbUrl}/`), { proc: user });
    const shown = await codeFlow(browser, cbUrl, tmp, label);
    const code = await Promise.race([user.exited, sleep(STEP_MS).then(() => 'timeout')]);
    const terminal = { access: printed(user.out, 'Access Token'), refresh: printed(user.out, 'Refresh Token'), id: printed(user.out, 'ID Token') };
    check(code === 0 && terminal.access === shown.access && terminal.refresh === shown.refresh && terminal.id === shown.id,
      'token user exits 0 and prints the tokens the callback page shows',
      () => `${describe(user)}\npage: ${JSON.stringify(shown)}`);
    const userInfo = jsonIn(await runReadme('introspect-user', introspect, { token: terminal.access }), 'introspect token');
    check(userInfo.active === true && userInfo.sub === EMAIL && userInfo.client_id === 'auth-code-client',
      `introspect token: the access token is active, for ${EMAIL}, from auth-code-client`, JSON.stringify(userInfo));

    // 4. A restart keeps clients and tokens.
    await runReadme('restart', restart);
    await waitFor('the restarted server is ready', answers('http://127.0.0.1:4445/health/ready'));
    for (const [t, who] of [[token, 'client credentials'], [terminal.access, 'code flow']]) {
      const again = jsonIn(await runReadme('introspect-again', introspect, { token: t }), 'introspect token');
      check(again.active === true, `after \`restart latch\` the ${who} token is still active`, JSON.stringify(again));
    }
    check(tokenOf(await runReadme('perform-again', perform, fill)),
      'after `restart latch` the client still gets tokens (it was kept)');

    // 5. Tracing and metrics, where the overlays add them.
    if (files.includes('quickstart-tracing.yml')) {
      const ops = await waitFor('the Jaeger stand-in has Latch\'s spans (GET :16686/api/traces?service=latch)', async () => {
        const { body } = await getJson('http://127.0.0.1:16686/api/traces?service=latch');
        const names = new Set((body.data || []).flatMap((t) => t.spans.map((s) => s.operationName)));
        return names.has('POST /oauth2/token') && names.has('POST /admin/clients') ? names : undefined;
      });
      ok(`the tracing stand-in received spans of service latch (${[...ops].slice(0, 6).join(', ')}, …)`);
    }
    if (files.includes('quickstart-prometheus.yml')) {
      const target = await waitFor('Prometheus shows the latch target up (GET :9090/api/v1/targets)', async () => {
        const { body } = await getJson('http://127.0.0.1:9090/api/v1/targets');
        return body.data.activeTargets.find((t) => t.labels.job === 'latch' && t.health === 'up');
      });
      ok(`Prometheus scrapes ${target.scrapeUrl}: up`);
      const q = encodeURIComponent('sum(http_requests_total{job="latch",endpoint="/oauth2/token"})');
      const value = await waitFor('Prometheus has Latch\'s token requests', async () => {
        const { body } = await getJson(`http://127.0.0.1:9090/api/v1/query?query=${q}`);
        const v = Number(body.data.result[0]?.value?.[1]);
        return v >= 1 ? v : undefined;
      });
      ok(`Prometheus's query API: ${value} token request(s) counted since the restart`);
    }
  } catch (e) {
    const logs = await run('logs', [...COMPOSE, ...files.flatMap((f) => ['-f', f]), 'logs', '--no-color', '--tail=40']);
    console.log(`# the services' last logs:\n${clip(logs.out, 12000)}`);
    throw e;
  } finally {
    // 6. README's down -v, with the files of this up.
    const stopped = await run('down', argv(down, {}, files), { timeout: 3 * 60_000 });
    await Promise.race([upProc.exited, sleep(30_000)]);
    kill(upProc);
    if (stopped.code !== 0) fail('`down -v` exits 0', describe(stopped));
  }
  // An engine stops a service with SIGTERM and kills it (137) when the stop timeout ends.
  const killed = fs.readFileSync(log, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').match(/^\S+ exited with code 137$/gm);
  check(!killed, `${label}: every service stops on SIGTERM (none is killed at the stop timeout)`, killed?.join('\n'));
  const containersAfter = engine(['ps', '-aq']);
  const volumesAfter = engine(['volume', 'ls', '-q']);
  check(JSON.stringify(containersAfter) === JSON.stringify(containersBefore) &&
      JSON.stringify(volumesAfter) === JSON.stringify(volumesBefore),
    `${label}: \`down -v\` leaves no container and no volume`,
    `containers ${containersBefore} -> ${containersAfter}; volumes ${volumesBefore} -> ${volumesAfter}`);
  const closed = await fetch('http://127.0.0.1:4444/', { signal: AbortSignal.timeout(2000) }).then(() => false, () => true);
  check(closed, 'nothing answers on 4444 any more');
}

/** The tutorial's browser part: start page, login as the demo user, consent, tokens page. */
async function codeFlow(browser, cbUrl, tmp, label) {
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_MS);
  try {
    const page = await context.newPage();
    const res = await page.goto(`${cbUrl}/`);
    check(res.status() === 200, `the browser opens ${cbUrl}/`);
    await page.locator('a#authorize').click();
    await page.waitForURL((u) => u.port === '3000' && u.pathname === '/login');
    ok(`"Authorize application" leads to the login form on the consent service (${new URL(page.url()).origin})`);
    await page.locator('input#email').fill(EMAIL);
    await page.locator('input#password').fill(PASSWORD);
    await page.locator('button[type=submit][name=submit][value=login]').click();
    await page.waitForURL((u) => u.port === '3000' && u.pathname === '/consent');
    ok(`logging in as ${EMAIL} / ${PASSWORD} leads to the consent page`);
    await page.locator('button[type=submit][name=submit][value=allow]').click();
    await page.waitForURL((u) => u.origin === cbUrl && u.pathname === '/callback');
    await page.locator('h1', { hasText: 'Tokens received' }).waitFor();
    const dd = (l) => page.locator('dt', { hasText: new RegExp(`^${l}$`) }).locator('xpath=following-sibling::dd[1]').innerText();
    const shown = { access: (await dd('Access Token')).trim(), refresh: (await dd('Refresh Token')).trim(), id: (await dd('ID Token')).trim() };
    await page.screenshot({ path: path.join(tmp, `tokens-${label.replace(/[^a-z0-9]+/gi, '_')}.png`), fullPage: true });
    check(shown.access && shown.refresh && shown.id.split('.').length === 3,
      '"Allow access": the callback page on 5555 shows an access, a refresh and an ID token', JSON.stringify(shown));
    return shown;
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------

async function main() {
  const commands = readmeCommands();
  const ups = commands.filter((c) => c.sub[0] === 'up');
  check(ups.length >= 4 && ups.every((u) => u.sub.join(' ') === 'up --build' && u.files[0] === 'quickstart.yml'),
    `README's compose section lists ${ups.length} \`-f quickstart.yml ... up --build\` commands`,
    ups.map((u) => u.text).join('\n'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'latch-compose-'));
  console.log(`# logs and screenshots: ${tmp}`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    let first = true;
    for (const up of ups) {
      await tutorial({ up, commands, browser, tmp, first });
      first = false;
    }
  } finally {
    await browser.close();
  }
}

main().then(
  () => {
    console.log(`\n${passed} passed, 0 failed`);
    process.exit(0);
  },
  (e) => {
    console.log(`\nFAILED: ${e instanceof CheckFailed ? e.message : e.stack || e}`);
    for (const p of running) kill(p);
    console.log(`\n${passed} passed, 1 failed`);
    process.exit(1);
  },
);
