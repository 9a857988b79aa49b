/**
 * `npm run demo`: loads the configured model and codec (or the bundled tiny random ones), speaks a
 * sentence (normalize, chunk, render the prompt, generate with the delay pattern and RAS, decode
 * with the codec) and writes the audio file, then prints where it is.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/load-config.js';
import { runpodVolume } from '../runpod/volume.js';
import { HiggsAudio } from '../service/higgs-audio.js';
import { createLogger } from '../common/log.js';
import { packageRoot } from '../common/package-root.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../request/defaults.js';
import { audioFileType } from '../s3/key.js';

const TRANSCRIPT = process.env.HIGGS_DEMO_TEXT ?? 'The sun rises in the east and sets in the west.';
const FORMAT = (process.env.HIGGS_DEMO_FORMAT ?? 'wav') as OutputFormat;

// The same path a library user gets: HiggsAudio with the configured defaults (device, dtype,
// context, voices), one request through the request schema.
async function main(): Promise<void> {
  if (!OUTPUT_FORMATS.includes(FORMAT)) throw new Error(`HIGGS_DEMO_FORMAT must be one of ${OUTPUT_FORMATS.join(', ')}`);
  const config = loadConfig(process.env, { volume: runpodVolume() });
  const tiny = config.sources.modelDir === 'bundled';
  console.log(`higgs-audio demo: model ${config.modelDir} (${config.sources.modelDir}), codec ${config.codecDir} (${config.sources.codecDir})`);
  if (tiny || config.sources.codecDir === 'bundled') {
    console.log('  Tiny RANDOM weights (test fixtures): the audio is noise. Run `higgs-audio pull`, or set HIGGS_MODEL_DIR and HIGGS_CODEC_DIR to real weights.');
  }
  // Warnings only: the demo prints its own lines.
  const tts = new HiggsAudio({ config, logger: createLogger({ level: 'warn' }) });
  try {
    let lastShown = -1;
    await tts.load({
      onProgress: ({ phase, progress }) => {
        const percent = Math.floor(progress * 100);
        if (percent >= lastShown + 25 || phase === 'ready') {
          lastShown = percent;
          console.log(`  load: ${phase} ${percent}%`);
        }
      },
    });
    const { model, codec } = tts.health();
    if (model) {
      console.log(
        `  loaded ${model.format} checkpoint: ${(model.parameterCount / 1e6).toFixed(1)}M parameters, ` +
          `${model.numLayers} layers, hidden ${model.hiddenSize}, ${model.numCodebooks} codebooks x ${model.codebookVocab}, ` +
          `${model.device}/${model.dtype}, decode ${model.decode}, ${model.loadSeconds.toFixed(2)} s`,
      );
    }
    if (codec) console.log(`  codec: ${codec.numQuantizers} codebooks, ${codec.sampleRate} Hz, ${codec.samplesPerFrame} samples per frame`);
    console.log(`  transcript: "${TRANSCRIPT}"`);
    // The tiny model rarely emits the end of audio: cap it so the demo stays short.
    const result = await tts.generate({ transcript: TRANSCRIPT, seed: 1234, max_new_tokens: tiny ? 100 : 1024, output_format: FORMAT });
    for (const chunk of result.chunks) {
      console.log(
        `  chunk "${chunk.text}": ${chunk.frames} frames (${(chunk.frames / 25).toFixed(2)} s of audio), ` +
          `stop: ${chunk.stopReason}, prompt ${chunk.promptPositions} positions, ` +
          `prefill ${(chunk.prefillSeconds * 1e3).toFixed(1)} ms, decode ${(chunk.decodeSeconds * 1e3).toFixed(1)} ms`,
      );
    }
    console.log(`  seed ${result.seed}${result.truncated ? ', cut at the frame cap' : ''}`);
    const outDir = resolve(process.env.HIGGS_DEMO_OUT ?? join(packageRoot(), 'out'));
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `demo.${FORMAT === 'opus' ? 'ogg' : audioFileType(FORMAT).ext}`);
    writeFileSync(file, result.audio);
    const t = result.timings;
    console.log(
      `  ${result.durationSeconds.toFixed(2)} s of ${result.sampleRate} Hz ${FORMAT} (${result.audio.length} bytes): ` +
        `generate ${t.generateSeconds.toFixed(2)} s, decode ${t.decodeSeconds.toFixed(2)} s, encode ${t.encodeSeconds.toFixed(2)} s`,
    );
    console.log(`Wrote ${file}`);
  } finally {
    await tts.dispose();
  }
}

main().catch((error: unknown) => {
  const e = error as { code?: string; message?: string };
  console.error(`higgs-audio demo failed${e.code ? ` [${e.code}]` : ''}: ${e.message ?? String(error)}`);
  process.exit(1);
});
