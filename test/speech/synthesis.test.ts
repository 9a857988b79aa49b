// Long-form generation through the tiny model: chunking (the automatic default included),
// truncation reports, history conditioning, streaming across chunks, cancellation, and bounded
// prompts and memory for a transcript of thousands of characters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NativeEngine } from '../../lib/native/loader.js';
import { MAX_CONTEXT_CHUNKS, REQUEST_WORK_LIMITS, SOUND_EVENT_CAP_FRAMES, autoChunkSeconds, frameCapForText, synthesizeCodes } from '../../lib/speech/synthesis.js';
import { normalizeTranscript } from '../../lib/text/normalize.js';
import { estimateSpeech, speakingSeconds } from '../../lib/text/speaking-time.js';
import { loadTokenizer, type HiggsTokenizer } from '../../lib/text/tokenizer.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { newEngine } from '../support/engine.js';

const SENTENCE = 'The quick brown fox jumps over the lazy dog while the band plays on.';

describe('frameCapForText', () => {
  const cap = (text: string, maxNewTokens = 4096) => frameCapForText(text, maxNewTokens);

  it('grows with the spoken text and covers a slow reading of it', () => {
    expect(cap('Hello there. How are you today?')).toBeGreaterThan(cap('Hello there.'));
    for (const text of ['Hi.', SENTENCE, '今天天气很好，我们去公园散步。']) {
      expect(cap(text)).toBeGreaterThanOrEqual(3 * speakingSeconds(text) * 25);
    }
  });

  it('adds exactly one event allowance per sound event, in either form', () => {
    const plain = cap('Hello there.');
    expect(cap('Hello there. [laugh]')).toBe(plain + SOUND_EVENT_CAP_FRAMES);
    expect(cap(normalizeTranscript('Hello there. [laugh]'))).toBe(plain + SOUND_EVENT_CAP_FRAMES);
    expect(cap('Hello there. <SE_s>[Music]</SE_s> <SE_e>[Music]</SE_e>')).toBe(plain + 2 * SOUND_EVENT_CAP_FRAMES);
    // Several seconds: enough for a music sting or a hummed phrase.
    expect(SOUND_EVENT_CAP_FRAMES / 25).toBeGreaterThanOrEqual(5);
  });

  it('reads no markup as speech: long tags add no spoken seconds, speaker tags nothing', () => {
    const spoken = estimateSpeech('Hello there.').spokenSeconds;
    for (const text of ['Hello there. [laugh]', 'Hello there. [laughs nervously, then louder]', 'Hello there. <SE_s>[Humming]</SE_s>']) {
      expect(estimateSpeech(text)).toEqual({ spokenSeconds: spoken, soundEvents: 1 });
    }
    expect(cap('Hello there. [laughs nervously, then louder]')).toBe(cap('Hello there. [laugh]'));
    expect(cap('[SPEAKER0] Hello there.')).toBe(cap('Hello there.'));
    expect(cap('[SPEAKER12] Hello there.\n[SPEAKER3] Hi.')).toBe(cap('Hello there.\nHi.'));
  });

  it('gives a request that is only (or mostly) a sound event at least the event floor', () => {
    for (const text of ['[music]', '[humming]', '[humming] la la', normalizeTranscript('[music]'), normalizeTranscript('[humming start] la la')]) {
      expect(cap(text), text).toBeGreaterThanOrEqual(SOUND_EVENT_CAP_FRAMES);
    }
    expect(cap('[humming] la la')).toBe(cap('la la') + SOUND_EVENT_CAP_FRAMES);
  });

  it('is still capped by maxNewTokens, whatever the text', () => {
    expect(frameCapForText('x'.repeat(5000))).toBe(1024);
    expect(frameCapForText('[music] '.repeat(50), 1024)).toBe(1024);
    expect(frameCapForText('[music]', 10)).toBe(10);
    expect(frameCapForText('Hello', 10)).toBe(10);
  });
});

describe('synthesizeCodes', () => {
  let engine: NativeEngine;
  let tokenizer: HiggsTokenizer;
  beforeAll(async () => {
    engine = newEngine({ maxContext: 1024 });
    await engine.load(tinyHfDir);
    tokenizer = loadTokenizer(tinyHfDir);
  });
  afterAll(() => engine.dispose());

  it("gives a lone sound event at least the event floor: the cap a chunk actually runs with", async () => {
    for (const transcript of ['[humming]', '[music]']) {
      const caps: number[] = [];
      await synthesizeCodes(engine, tokenizer, { transcript, seed: 1 }, { onProgress: ({ maxColumns }) => caps.push(maxColumns) });
      expect(Math.min(...caps)).toBeGreaterThanOrEqual(SOUND_EVENT_CAP_FRAMES);
    }
  });

  it('generates every chunk conditioned on the earlier ones and streams across chunks', async () => {
    const transcript = Array.from({ length: 4 }, () => SENTENCE).join(' ');
    const streamed: number[] = [];
    const result = await synthesizeCodes(
      engine,
      tokenizer,
      { transcript, chunkMethod: 'word', chunkMaxWordNum: 14, maxNewTokens: 30, seed: 5 },
      { onFrames: (_frames, first, count) => streamed.push(first, count) },
    );
    expect(result.chunks.length).toBe(4);
    expect(result.seed).toBe(5);
    expect(result.chunks.map((c) => c.historyChunks)).toEqual([0, 1, 2, 3]);
    // Each chunk's prompt holds the audio of the chunks before it.
    for (let i = 1; i < 4; i += 1) {
      expect(result.chunks[i]!.promptPositions).toBeGreaterThan(result.chunks[i - 1]!.promptPositions + result.chunks[i - 1]!.frames);
    }
    expect(result.frames).toBe(result.chunks.reduce((n, c) => n + c.frames, 0));
    // Each chunk's place in the audio: frame boundaries, end to end, 25 frames a second.
    let frame = 0;
    for (const chunk of result.chunks) {
      expect([chunk.startSeconds, chunk.endSeconds]).toEqual([frame / 25, (frame + chunk.frames) / 25]);
      frame += chunk.frames;
    }
    expect(result.codes.length).toBe(8);
    expect(result.codes.every((row) => row.length === result.frames)).toBe(true);
    // Streamed frame ranges tile [0, frames) in order.
    let next = 0;
    for (let i = 0; i < streamed.length; i += 2) {
      expect(streamed[i]).toBe(next);
      next += streamed[i + 1]!;
    }
    expect(next).toBe(result.frames);
  });

  it('the same seed gives the same codes for the whole request', async () => {
    const request = { transcript: `${SENTENCE} ${SENTENCE}`, chunkMethod: 'word' as const, chunkMaxWordNum: 14, maxNewTokens: 20, seed: 11 };
    const a = await synthesizeCodes(engine, tokenizer, request);
    const b = await synthesizeCodes(engine, tokenizer, request);
    expect(a.codes).toEqual(b.codes);
  });

  it('an AbortSignal stops the request with E_CANCELLED and the engine serves on', async () => {
    const controller = new AbortController();
    const run = synthesizeCodes(
      engine,
      tokenizer,
      { transcript: `${SENTENCE} ${SENTENCE} ${SENTENCE}`, chunkMethod: 'word', chunkMaxWordNum: 14, maxNewTokens: 200 },
      { signal: controller.signal, onProgress: ({ chunk }) => chunk === 1 && controller.abort() },
    );
    await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED' });
    const after = await synthesizeCodes(engine, tokenizer, { transcript: 'Still here.', maxNewTokens: 12 });
    expect(after.chunks.length).toBe(1);
  });

  it('a transcript of thousands of characters runs with bounded prompts and memory', async () => {
    const transcript = Array.from({ length: 60 }, (_, i) => `Paragraph ${i + 1}. ${SENTENCE}`).join(' ');
    expect(transcript.length).toBeGreaterThan(4000);
    const rssBefore = process.memoryUsage().rss;
    const result = await synthesizeCodes(engine, tokenizer, {
      transcript,
      chunkMethod: 'word',
      chunkMaxWordNum: 40,
      maxNewTokens: 24,
      generationChunkBufferSize: 2,
      seed: 1,
    });
    expect(result.chunks.length).toBeGreaterThan(15);
    expect(Math.max(...result.chunks.map((c) => c.historyChunks))).toBe(2);
    const prompts = result.chunks.slice(3).map((c) => c.promptPositions);
    // With two chunks of context the prompt stops growing (text lengths differ a little).
    expect(Math.max(...prompts) - Math.min(...prompts)).toBeLessThan(80);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  });

  it('by default keeps at most MAX_CONTEXT_CHUNKS earlier chunks, so each chunk prefills a bounded prompt', async () => {
    // The shape of the request ("x" * 10000 with max_new_tokens 10), shorter: many small
    // chunks, where carrying every earlier chunk made the request's cost grow with the square.
    const transcript = Array.from({ length: 3 * MAX_CONTEXT_CHUNKS }, (_, i) => `Part ${i + 1} is here.`).join(' ');
    const result = await synthesizeCodes(engine, tokenizer, { transcript, chunkMethod: 'word', chunkMaxWordNum: 4, maxNewTokens: 10, seed: 2 });
    const n = result.chunks.length;
    expect(n).toBeGreaterThan(2 * MAX_CONTEXT_CHUNKS);
    expect(result.chunks.map((c) => c.historyChunks)).toEqual(result.chunks.map((_, i) => Math.min(i, MAX_CONTEXT_CHUNKS)));
    // Once the window is full, a chunk's prompt is as long as the one that filled it (chunk
    // texts and frame counts differ a little), however many chunks came before.
    const full = result.chunks[MAX_CONTEXT_CHUNKS]!.promptPositions;
    for (const chunk of result.chunks.slice(MAX_CONTEXT_CHUNKS)) expect(Math.abs(chunk.promptPositions - full)).toBeLessThan(0.2 * full);
    const total = result.chunks.reduce((sum, c) => sum + c.promptPositions, 0);
    expect(total).toBeLessThan(1.2 * n * full);
  });

  it('refuses a buffer size beyond the bound from the library too', async () => {
    await expect(synthesizeCodes(engine, tokenizer, { transcript: 'Hi.', generationChunkBufferSize: MAX_CONTEXT_CHUNKS + 1, seed: 1 })).rejects.toMatchObject({ code: 'E_INPUT' });
  });

  it('by default cuts a transcript that would not fit maxNewTokens into chunks that do, keeping earlier ones as context', async () => {
    const transcript = Array.from({ length: 6 }, (_, i) => `Sentence ${i + 1} tells a short story.`).join(' ');
    const maxNewTokens = 100; // 4 s: each chunk may take autoChunkSeconds(100) = 5 s
    expect(speakingSeconds(normalizeTranscript(transcript))).toBeGreaterThan(maxNewTokens / 25);
    const result = await synthesizeCodes(engine, tokenizer, { transcript, maxNewTokens, seed: 3 });
    expect(result.chunks.length).toBeGreaterThan(1);
    for (const chunk of result.chunks) expect(speakingSeconds(chunk.text)).toBeLessThanOrEqual(autoChunkSeconds(maxNewTokens));
    expect(result.chunks.map((c) => c.text).join(' ')).toBe(normalizeTranscript(transcript));
    expect(result.chunks.map((c) => c.historyChunks)).toEqual(result.chunks.map((_, i) => i));
    expect(result.truncated).toBe(result.chunks.some((c) => c.stopReason !== 'audio_end'));
  });

  it('reports a chunk cut by its frame cap as truncated, also with chunking off', async () => {
    const capped = await synthesizeCodes(engine, tokenizer, { transcript: 'Hello there.', chunkMethod: 'none', maxNewTokens: 10, seed: 1 });
    expect(capped.chunks.map((c) => c.stopReason)).toEqual(['max_frames']);
    expect(capped.truncated).toBe(true);
    // 'none' never splits, however long the text.
    const long = await synthesizeCodes(engine, tokenizer, { transcript: SENTENCE.repeat(8), chunkMethod: 'none', maxNewTokens: 10, seed: 1 });
    expect(long.chunks).toHaveLength(1);
    expect(long.truncated).toBe(long.chunks[0]!.stopReason !== 'audio_end');
  });

  it('refuses a request of more chunks than one request may generate, before generating any', async () => {
    const transcript = Array.from({ length: 1500 }, (_, i) => `w${i}`).join(' ');
    let progressed = false;
    const run = synthesizeCodes(engine, tokenizer, { transcript, chunkMethod: 'word', chunkMaxWordNum: 1, maxNewTokens: 20 }, { onProgress: () => (progressed = true) });
    await expect(run).rejects.toMatchObject({
      code: 'E_INPUT',
      message: `transcript: chunk_method "word" cuts it into 1500 chunks, more than the ${REQUEST_WORK_LIMITS.maxChunks} one request may generate: use larger chunks (chunk_max_word_num, max_new_tokens) or send the text in parts`,
    });
    expect(progressed).toBe(false);
  });

  it('rejects an empty transcript', async () => {
    await expect(synthesizeCodes(engine, tokenizer, { transcript: '  \n ' })).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
