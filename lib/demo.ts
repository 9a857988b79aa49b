/**
 * `npm run demo`: loads the configured model (or the bundled tiny random one), turns a sentence
 * into speech tokens (normalize, chunk, render the prompt, generate with the delay pattern and
 * RAS), and prints what it did. The codec that turns codes into a waveform file arrives with the
 * next issue; until then the demo stops at the codes.
 */
import { defaultModelDir } from './config.js';
import { loadNative } from './native.js';
import { synthesizeCodes } from './synthesis.js';
import { loadTokenizer } from './text/tokenizer.js';

const TRANSCRIPT = process.env.HIGGS_DEMO_TEXT ?? 'The sun rises in the east and sets in the west.';

async function main(): Promise<void> {
  const { dir, source } = defaultModelDir();
  console.log(`higgs-audio demo: model ${dir} (${source})`);
  const tiny = source === 'bundled tiny random model';
  if (tiny) console.log('  This is a tiny RANDOM model for tests: its output is noise. Set HIGGS_MODEL_DIR to real weights.');
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
    const tokenizer = loadTokenizer(dir);
    console.log(`  transcript: "${TRANSCRIPT}"`);
    let streamed = 0;
    const result = await synthesizeCodes(
      engine,
      tokenizer,
      // The tiny model rarely emits the end of audio: cap it so the demo stays short.
      { transcript: TRANSCRIPT, seed: 1234, maxNewTokens: tiny ? 100 : 1024 },
      { onFrames: (_frames, _first, count) => (streamed += count) },
    );
    for (const chunk of result.chunks) {
      console.log(
        `  chunk "${chunk.text}": ${chunk.frames} frames (${(chunk.frames / 25).toFixed(2)} s of audio), ` +
          `stop: ${chunk.stopReason}, prompt ${chunk.promptPositions} positions, ` +
          `prefill ${(chunk.prefillSeconds * 1e3).toFixed(1)} ms, decode ${(chunk.decodeSeconds * 1e3).toFixed(1)} ms`,
      );
    }
    console.log(`  ${result.frames} frames streamed (${streamed} via the frame callback), seed ${result.seed}; first frames:`);
    for (let t = 0; t < Math.min(4, result.frames); t += 1) console.log(`    ${result.codes.map((row) => row[t]).join(' ')}`);
    console.log('  No audio file yet: the codec (codes -> 24 kHz waveform) comes with the next issue.');
  } finally {
    await engine.dispose();
  }
}

main().catch((error: unknown) => {
  const e = error as { code?: string; message?: string };
  console.error(`higgs-audio demo failed${e.code ? ` [${e.code}]` : ''}: ${e.message ?? String(error)}`);
  process.exit(1);
});
