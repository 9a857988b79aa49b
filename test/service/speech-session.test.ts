// The library's text-in session (lib/service/speech-session.ts) over the tiny model, as a Node
// voice agent uses it without the WebSocket: text pushed as tokens, sentences spoken in order
// with the session's one seed and the earlier sentences as context, refusals that keep the
// session, and a reader that stops early closing it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { createSpeechSession, type SpeechSessionEvent } from '../../lib/service/speech-session.js';
import { openTinyService } from '../support/tiny-service.js';

const opened: HiggsAudio[] = [];
let tts: HiggsAudio;

beforeAll(async () => {
  tts = openTinyService(opened, { maxContext: 8192, maxConcurrency: 1, maxQueue: 0 });
  await tts.load();
});

afterAll(async () => {
  await Promise.all(opened.map((service) => service.dispose()));
});

async function collect(events: AsyncIterable<SpeechSessionEvent>): Promise<SpeechSessionEvent[]> {
  const all: SpeechSessionEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

describe('createSpeechSession', () => {
  it('speaks pushed tokens sentence by sentence, in order, with one seed and the earlier sentences as context', async () => {
    const session = createSpeechSession(tts, { output_format: 'pcm', max_new_tokens: 120 });
    expect(session.seed).toEqual(expect.any(Number));
    const reading = collect(session.events());
    for (const token of ['Good', ' morn', 'ing.', ' The sun', ' is up', '. Bye']) session.push(token);
    session.end();
    expect(() => session.push('More.')).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    const events = await reading;
    const kinds = events.map((e) => (e.type === 'sentence.audio' ? 'audio' : e.type)).filter((kind, i, all) => kind !== 'audio' || all[i - 1] !== 'audio');
    expect(kinds).toEqual(['sentence.start', 'audio', 'sentence.done', 'sentence.start', 'audio', 'sentence.done', 'sentence.start', 'audio', 'sentence.done', 'session.done']);
    const done = events.filter((e) => e.type === 'sentence.done');
    expect(done.map((d) => [d.index, d.text, d.status])).toEqual([
      [0, 'Good morning.', 'done'],
      [1, 'The sun is up.', 'done'],
      [2, 'Bye', 'done'],
    ]);
    expect(done.map((d) => d.summary!.seed)).toEqual([session.seed, session.seed, session.seed]);
    expect(done[1]!.summary!.chunks[0]!.historyChunks).toBe(1);
    expect(done[2]!.summary!.chunks[0]!.historyChunks).toBe(2);
    expect(done[1]!.startSeconds).toBe(done[0]!.endSeconds);
    expect(events.at(-1)).toEqual({ type: 'session.done', sentences: 3, audioSeconds: done[2]!.endSeconds });
  });

  it('refuses a piece it cannot take whole, and goes on', async () => {
    const session = createSpeechSession(tts, { output_format: 'wav', seed: 7, max_new_tokens: 40 }, { limits: { maxBufferedChars: 50 } });
    expect(() => session.push('x'.repeat(51))).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    session.push('a'.repeat(40));
    expect(() => session.push('b'.repeat(20))).toThrow(expect.objectContaining({ code: 'E_BUSY' }));
    session.push('.');
    session.end();
    const done = (await collect(session.events())).filter((e) => e.type === 'sentence.done');
    expect(done.map((d) => d.text)).toEqual([`${'a'.repeat(40)}.`]);
  });

  it('closes when its reader stops early, stopping the generation', async () => {
    const session = createSpeechSession(tts, { output_format: 'pcm', seed: 10, max_new_tokens: 3000 });
    session.push(`${'word '.repeat(35)}end. Next one. `);
    for await (const event of session.events()) if (event.type === 'sentence.audio') break;
    expect(session.inputEnded).toBe(true);
    expect(() => session.push('More.')).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    for (let i = 0; i < 200 && tts.health().requests.active > 0; i += 1) await new Promise((r) => setTimeout(r, 25));
    expect(tts.health().requests.active).toBe(0);
  });
});
