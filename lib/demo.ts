/**
 * `npm run demo`: loads the configured model and codec (or the bundled tiny random ones), speaks a
 * sentence (normalize, chunk, render the prompt, generate with the delay pattern and RAS, decode
 * with the codec) and writes the audio file, then prints where it is.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultCodecDir, defaultModelDir } from './config.js';
import { loadNative, packageRoot, type AudioFormat } from './native.js';
import { synthesizeSpeech } from './speech.js';
import { loadTokenizer } from './text/tokenizer.js';

const TRANSCRIPT = process.env.HIGGS_DEMO_TEXT ?? 'The sun rises in the east and sets in the west.';
const FORMAT = (process.env.HIGGS_DEMO_FORMAT ?? 'wav') as AudioFormat;

async function main(): Promise<void> {
  const { dir, source } = defaultModelDir();
  const codecDir = defaultCodecDir();
  console.log(`higgs-audio demo: model ${dir} (${source}), codec ${codecDir.dir} (${codecDir.source})`);
  const tiny = source === 'bundled tiny random model';
  if (tiny || codecDir.source === 'bundled tiny random codec') {
    console.log('  Tiny RANDOM weights (test fixtures): the audio is noise. Set HIGGS_MODEL_DIR and HIGGS_CODEC_DIR to real weights.');
  }
  const { Engine } = loadNative();
  const engine = new Engine({ device: process.env.HIGGS_DEVICE ?? 'cpu', maxContext: 4096 });
  try {
    let lastShown = -1;
    const info = await engine.load(dir, ({ phase, progress }) => {
      const percent = Math.floor(progress * 100);
      if (percent >= lastShown + 25 || phase === 'ready') {
        lastShown = percent;
        console.log(`  load: ${phase} ${percent}%`);
      }
    });
    console.log(
      `  loaded ${info.format} checkpoint: ${(info.parameterCount / 1e6).toFixed(1)}M parameters, ` +
        `${info.numLayers} layers, hidden ${info.hiddenSize}, ${info.numCodebooks} codebooks x ${info.codebookVocab}, ` +
        `${info.device}/${info.dtype}, ${info.loadSeconds.toFixed(2)} s`,
    );
    const codec = await engine.loadCodec(codecDir.dir);
    console.log(`  codec: ${codec.numQuantizers} codebooks, ${codec.sampleRate} Hz, ${codec.samplesPerFrame} samples per frame`);
    const tokenizer = loadTokenizer(dir);
    console.log(`  transcript: "${TRANSCRIPT}"`);
    let streamed = 0;
    const result = await synthesizeSpeech(
      engine,
      tokenizer,
      // The tiny model rarely emits the end of audio: cap it so the demo stays short.
      { transcript: TRANSCRIPT, seed: 1234, maxNewTokens: tiny ? 100 : 1024, outputFormat: FORMAT },
      { onFrames: (_frames, _first, count) => (streamed += count) },
    );
    for (const chunk of result.chunks) {
      console.log(
        `  chunk "${chunk.text}": ${chunk.frames} frames (${(chunk.frames / 25).toFixed(2)} s of audio), ` +
          `stop: ${chunk.stopReason}, prompt ${chunk.promptPositions} positions, ` +
          `prefill ${(chunk.prefillSeconds * 1e3).toFixed(1)} ms, decode ${(chunk.decodeSeconds * 1e3).toFixed(1)} ms`,
      );
    }
    console.log(`  ${result.frames} frames (${streamed} streamed while generating), seed ${result.seed}`);
    const outDir = resolve(process.env.HIGGS_DEMO_OUT ?? join(packageRoot(), 'out'));
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `demo.${FORMAT === 'vorbis' || FORMAT === 'opus' ? 'ogg' : FORMAT}`);
    writeFileSync(file, result.audio);
    const t = result.timings;
    console.log(
      `  ${result.durationSeconds.toFixed(2)} s of ${result.sampleRate} Hz ${FORMAT} (${result.audio.length} bytes): ` +
        `generate ${t.generateSeconds.toFixed(2)} s, decode ${t.decodeSeconds.toFixed(2)} s, encode ${t.encodeSeconds.toFixed(2)} s`,
    );
    console.log(`Wrote ${file}`);
  } finally {
    await engine.dispose();
  }
}

main().catch((error: unknown) => {
  const e = error as { code?: string; message?: string };
  console.error(`higgs-audio demo failed${e.code ? ` [${e.code}]` : ''}: ${e.message ?? String(error)}`);
  process.exit(1);
});
