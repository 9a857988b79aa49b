// The playground page of `serve` (lib/server/playground.ts, web/playground.html) in a real browser:
// Debian's chromium driven by puppeteer-core, against a real server on loopback with the tiny
// model. The page loads without console errors, asks for the API key when the server has one,
// lists the voices, speaks while the stream arrives (the audio element ends with a duration) and
// shows the result's seed, hash, time to first audio and real-time factor, and an uploaded voice
// appears in the picker. GET and HEAD / are the page (under a strict Content-Security-Policy),
// POST / stays RunPod's job route, and `playground: false` (HIGGS_PLAYGROUND=0) leaves GET / as
// it was. Screenshots at a laptop's and a phone's width are kept in build/artifacts/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type ConsoleMessage, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load-config.js';
import { createLogger } from '../../lib/common/log.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createTtsHandler, type TtsHandler } from '../../lib/runpod/handler.js';
import { startServer, type RunningServer } from '../../lib/server/server.js';
import { repoRoot, tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from '../support/goldens.js';

const KEY = 'test-key';
/** Debian's chromium (scripts/system-packages.sh installs it for the tests); HIGGS_CHROMIUM overrides. */
const CHROMIUM = process.env.HIGGS_CHROMIUM || '/usr/bin/chromium';
/** Where CI keeps what a run leaves to look at (build/ is kept, and ignored by git). */
const ARTIFACTS = join(repoRoot, 'build', 'artifacts');
const work = mkdtempSync(join(tmpdir(), 'higgs-playground-'));
let handler: TtsHandler;
/** Without a key: the page as most people open it. */
let open: RunningServer;
/** With HIGGS_API_KEY: the page asks for the key. */
let keyed: RunningServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the playground test drives a real browser and found none at ${CHROMIUM}: install Debian's chromium ` +
        `(bash scripts/system-packages.sh all, or as root apt-get install -y chromium), or set HIGGS_CHROMIUM to a Chromium binary`,
    );
  }
  const voices = join(work, 'voices');
  mkdirSync(voices);
  execFileSync('sox', ['-n', '-r', '24000', '-c', '1', '-b', '16', join(voices, 'tone.wav'), 'synth', '1', 'sine', '300']);
  writeFileSync(join(voices, 'tone.txt'), 'A tone.');
  const config = {
    ...loadConfig({ HIGGS_DEVICE: 'cpu', HIGGS_SLOTS: '2', HIGGS_MAX_CONCURRENCY: '2' }),
    modelDir: tinyHfDir,
    codecDir: join(goldensDir, 'codec'),
    voicesDir: voices,
    maxContext: 4096,
  };
  const tts = new HiggsAudio({ config, logger: createLogger({ level: 'silent' }) });
  handler = createTtsHandler(tts, null);
  await handler.ready();
  open = await startServer(handler, { port: 0, concurrency: 2 });
  keyed = await startServer(handler, { port: 0, concurrency: 2, apiKey: KEY });
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI: no sandbox; a container's small /dev/shm.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
});

afterAll(async () => {
  await browser?.close();
  await open?.close();
  await keyed?.close();
  await handler?.dispose();
});

/** A page at `width`x`height` whose console errors (and page errors) are collected. */
async function newPage(width: number, height: number): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  const errors: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error' || message.type() === 'warn') errors.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${(error as Error).message}`));
  return { page, errors };
}

/** The voice picker's options (values). */
const voiceOptions = (page: Page) => page.$$eval('#voice option', (options) => options.map((option) => (option as HTMLOptionElement).value));

interface Last {
  seed?: string;
  resultHash?: string;
  timeToFirstAudioMs?: number;
  streamEndMs?: number;
  playingAtMs?: number;
  audioSeconds?: number;
  rtf?: number;
  streamed?: boolean;
  error?: string;
  bytes?: number;
}

/** Types `text`, presses Speak and waits for the result (or its error). */
async function speak(page: Page, text: string, settings: { voice?: string; seed?: string; seconds?: string; format?: string } = {}): Promise<Last> {
  const fill = async (selector: string, value: string) => {
    await page.$eval(selector, (element) => ((element as HTMLInputElement).value = ''));
    await page.type(selector, value);
  };
  await fill('#text', text);
  if (settings.voice !== undefined) await page.select('#voice', settings.voice);
  if (settings.format !== undefined) await page.select('#format', settings.format);
  if (settings.seed !== undefined) await fill('#seed', settings.seed);
  if (settings.seconds !== undefined) await fill('#max-seconds', settings.seconds);
  await page.click('#speak');
  await page.waitForFunction(
    () => {
      const last = (window as unknown as { playground: { last: Last } }).playground.last;
      return last.error !== undefined || last.rtf !== undefined;
    },
    { timeout: 60_000 },
  );
  return page.evaluate(() => ({ ...(window as unknown as { playground: { last: Last } }).playground.last }));
}

describe('the playground page of serve', () => {
  it('is GET and HEAD / under a strict Content-Security-Policy, while POST / stays RunPod\'s job route', async () => {
    const page = await fetch(`${keyed.url}/`); // no key: the page asks for it itself
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(policy).not.toContain('unsafe-inline');
    const html = await page.text();
    expect(html).toContain('<title>Higgs Audio playground</title>');
    // Nothing from elsewhere: no absolute URL is loaded by the page.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const head = await fetch(`${keyed.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    const job = await fetch(`${keyed.url}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { transcript: 'Hi.', ref_audio: 'tone', seed: 1, max_new_tokens: 20 } }),
    });
    expect(job.status).toBe(200);
    expect(await job.json()).toMatchObject({ status: 'COMPLETED' });
  });

  it('is off with playground: false (HIGGS_PLAYGROUND=0): GET / answers as it did before', async () => {
    const off = await startServer(handler, { port: 0, playground: false });
    try {
      const answer = await fetch(`${off.url}/`);
      expect([404, 405]).toContain(answer.status);
      expect(answer.headers.get('content-type')).not.toContain('text/html');
      await answer.arrayBuffer();
    } finally {
      await off.close();
    }
  });

  it('loads without console errors, speaks while the audio arrives, and adds an uploaded voice to the picker (laptop width)', async () => {
    const { page, errors } = await newPage(1280, 800);
    await page.goto(`${open.url}/`, { waitUntil: 'networkidle0' });
    await page.waitForFunction(() => document.querySelectorAll('#voice option').length > 1);
    expect(await voiceOptions(page)).toEqual(['', 'tone']);
    expect(await page.$eval('#key-card', (element) => (element as HTMLElement).hidden)).toBe(true);

    const last = await speak(page, 'Hello from the playground.', { voice: 'tone', seed: '7', seconds: '8' });
    expect(last.error).toBeUndefined();
    expect(last.streamed).toBe(true); // mp3 through MediaSource: played as it arrived
    expect(last.seed).toBe('7');
    expect(last.resultHash).toMatch(/^[0-9a-f]{16,}$/);
    expect(last.timeToFirstAudioMs).toBeGreaterThan(0);
    expect(last.timeToFirstAudioMs!).toBeLessThanOrEqual(last.streamEndMs!);
    expect(last.audioSeconds).toBeGreaterThan(0);
    expect(last.rtf).toBeGreaterThan(0);
    expect(await page.$eval('#player', (element) => (element as HTMLAudioElement).duration)).toBeGreaterThan(0);
    // It played: the element started (its 'playing' event) and moves on.
    expect(last.playingAtMs).toBeGreaterThan(0);
    // ...before the stream ended: 8 s of the tiny model's audio take several times the first
    // chunk's time to arrive (about 0.1 s to the first audio, 0.3 s to playing, 1.1 s to the end here).
    expect(last.playingAtMs!).toBeLessThan(last.streamEndMs!);
    await page.waitForFunction(() => (document.getElementById('player') as HTMLAudioElement).currentTime > 0, { timeout: 10_000 });
    expect(await page.$eval('#r-seed', (element) => element.textContent)).toBe('7');
    expect(await page.$eval('#r-hash', (element) => element.textContent)).toBe(last.resultHash);
    expect(await page.$eval('#r-rtf', (element) => element.textContent)).toMatch(/^\d+\.\d\d$/);
    const download = await page.$eval('#download', (element) => ({ href: (element as HTMLAnchorElement).href, name: (element as HTMLAnchorElement).download }));
    expect(download.href).toMatch(/^blob:/);
    expect(download.name).toBe('higgs-7.mp3');
    // The download is the whole file: the bytes the stream brought.
    const size = await page.evaluate(async (href) => (await (await fetch(href)).blob()).size, download.href);
    expect(size).toBe(last.bytes);

    // A whole-file format plays once it is complete.
    const wav = await speak(page, 'Once more, as a WAV file.', { format: 'wav', seconds: '3' });
    expect(wav.error).toBeUndefined();
    expect(wav.streamed).toBe(false);
    expect(wav.audioSeconds).toBeGreaterThan(0);
    expect(await page.$eval('#download', (element) => (element as HTMLAnchorElement).download)).toBe(`higgs-${wav.seed}.wav`);

    // A new voice, uploaded through the file input, appears in the picker and is selected.
    const clip = join(work, 'upload.wav');
    execFileSync('sox', ['-n', '-r', '24000', '-c', '1', '-b', '16', clip, 'synth', '1.5', 'sine', '220']);
    await page.type('#voice-name', 'uploaded_voice');
    const input = await page.$('input#voice-file');
    await input!.uploadFile(clip);
    await page.type('#voice-text', 'A lower tone.');
    await page.click('#upload');
    await page.waitForFunction(() => [...document.querySelectorAll('#voice option')].some((option) => (option as HTMLOptionElement).value === 'uploaded_voice'), { timeout: 30_000 });
    expect(await page.$eval('#voice', (element) => (element as HTMLSelectElement).value)).toBe('uploaded_voice');
    expect(await page.$eval('#upload-status', (element) => element.textContent)).toContain('Added');
    // And speaks.
    const uploaded = await speak(page, 'Hello! This is Higgs Audio, speaking from your own server.', { format: 'mp3', seconds: '5' });
    expect(uploaded.error).toBeUndefined();
    expect(uploaded.audioSeconds).toBeGreaterThan(0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'playground-laptop.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('asks for the API key on a 401 and keeps it only in the page (phone width)', async () => {
    const { page, errors } = await newPage(390, 844);
    await page.goto(`${keyed.url}/`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#key-card:not([hidden])');
    expect(await voiceOptions(page)).toEqual(['']);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-phone-key.png') });
    // A wrong key is refused and asked for again.
    await page.type('#key', 'wrong');
    await page.click('#key-form button');
    await page.waitForFunction(() => document.getElementById('key-note')!.textContent!.includes('refused'));
    await page.type('#key', KEY);
    await page.click('#key-form button');
    await page.waitForSelector('#key-card[hidden]');
    expect(await voiceOptions(page)).toContain('tone');
    const last = await speak(page, 'Spoken with the key.', { voice: 'tone', seconds: '4' });
    expect(last.error).toBeUndefined();
    expect(last.audioSeconds).toBeGreaterThan(0);
    expect(await page.$eval('#player', (element) => (element as HTMLAudioElement).duration)).toBeGreaterThan(0);
    // Nothing kept beyond the page's memory.
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, '']);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-phone.png'), fullPage: true });
    // The only console errors are the browser's notes of the two 401 answers (no key, wrong key).
    expect(errors.filter((error) => !/status of 401/.test(error))).toEqual([]);
    expect(errors.length).toBe(2);
    await page.close();
  });
});
