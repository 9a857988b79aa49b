// Long-form generation through the tiny model: chunking (the automatic default included),
// truncation reports, history conditioning, streaming across chunks, cancellation, and bounded
// prompts and memory for a transcript of thousands of characters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NativeEngine } from '../../lib/native/loader.js';
import { REQUEST_WORK_LIMITS, autoChunkSeconds, frameCapForText, synthesizeCodes } from '../../lib/speech/synthesis.js';
import { normalizeTranscript } from '../../lib/text/normalize.js';
import { speakingSeconds } from '../../lib/text/speaking-time.js';
import { loadTokenizer, type HiggsTokenizer } from '../../lib/text/tokenizer.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { newEngine } from '../support/engine.js';

const SENTENCE = 'The quick brown fox jumps over the lazy dog while the band plays on.';

describe('synthesizeCodes', () => {
  let engine: NativeEngine;
  let tokenizer: HiggsTokenizer;
  beforeAll(async () => {
    engine = newEngine({ maxContext: 1024 });
    await engine.load(tinyHfDir);
    tokenizer = loadTokenizer(tinyHfDir);
  });
  afterAll(() => engine.dispose());

  it('caps frames by text length as well as by maxNewTokens', () => {
    expect(frameCapForText('Hi.', 1024)).toBe(Math.ceil((3 + 0.35 * 3) * 25));
    expect(frameCapForText('x'.repeat(5000), 1024)).toBe(1024);
    expect(frameCapForText('Hello', 10)).toBe(10);
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
