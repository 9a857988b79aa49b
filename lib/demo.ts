/**
 * `npm run demo`: loads the configured model (or the bundled tiny random one), runs a prefill of a
 * small prompt and a few greedy audio decode steps, and prints what it did. Text-to-speech
 * output arrives with the generation and codec issues; until then this shows the forward pass.
 */
import { defaultModelDir } from './config.js';
import { loadNative } from './native.js';

const SPECIAL = { beginOfText: 128000, startHeader: 128006, endHeader: 128007, eot: 128009, audioOutBos: 128013 };
const AUDIO_OUT = 128016;

async function main(): Promise<void> {
  const { dir, source } = defaultModelDir();
  console.log(`higgs-audio demo: model ${dir} (${source})`);
  if (source === 'bundled tiny random model') {
    console.log('  This is a tiny RANDOM model for tests: its output is noise. Set HIGGS_MODEL_DIR to real weights.');
  }
  const { Engine } = loadNative();
  const engine = new Engine({ device: process.env.HIGGS_DEVICE ?? 'cpu', maxContext: 512 });
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

    // A minimal chat prompt made of special tokens only (tokenization arrives with issue 4).
    const prompt = [SPECIAL.beginOfText, SPECIAL.startHeader, SPECIAL.endHeader, SPECIAL.eot, SPECIAL.startHeader,
      SPECIAL.endHeader, SPECIAL.audioOutBos];
    const prefill = await engine.forward({
      inputIds: Int32Array.from(prompt),
      audioMask: new Uint8Array(prompt.length),
    });
    console.log(`  prefill: ${prompt.length} positions in ${(prefill.seconds * 1e3).toFixed(1)} ms`);

    // Greedy audio frames, each fed back as the next input (no delay pattern or sampling yet).
    let logits = prefill.audioLogits;
    const frames: number[][] = [];
    for (let step = 0; step < 8; step += 1) {
      const frame = argmaxPerCodebook(logits, info.numCodebooks, info.codebookVocab);
      frames.push(frame);
      const out = await engine.forward({
        inputIds: Int32Array.of(AUDIO_OUT),
        audioMask: Uint8Array.of(1),
        audioCodes: Int32Array.from(frame),
        startPos: prompt.length + step,
      });
      logits = out.audioLogits;
    }
    console.log(`  decoded ${frames.length} greedy frames (8 codebooks each):`);
    for (const frame of frames) console.log(`    ${frame.join(' ')}`);
    console.log('  No audio file yet: the codec and generation loop come with the next issues.');
  } finally {
    await engine.dispose();
  }
}

function argmaxPerCodebook(logits: Float32Array, codebooks: number, vocab: number): number[] {
  const frame: number[] = [];
  for (let k = 0; k < codebooks; k += 1) {
    let best = 0;
    for (let v = 1; v < vocab; v += 1) if (logits[k * vocab + v]! > logits[k * vocab + best]!) best = v;
    frame.push(best);
  }
  return frame;
}

main().catch((error: unknown) => {
  const e = error as { code?: string; message?: string };
  console.error(`higgs-audio demo failed${e.code ? ` [${e.code}]` : ''}: ${e.message ?? String(error)}`);
  process.exit(1);
});
