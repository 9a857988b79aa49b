// HiggsAudio over the tiny test model and codec, on the CPU in fp32: the set-up the service tests share.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../lib/common/log.js';
import { loadConfig, type HiggsConfig } from '../../lib/config/load-config.js';
import { HiggsAudio } from '../../lib/service/higgs-audio.js';
import { tinyHfDir } from '../setup/fixture-paths.js';
import { goldensDir } from './goldens.js';

export const tinyCodecDir = join(goldensDir, 'codec');

/**
 * A service with `extra` over the tiny defaults; its JSON log lines go to `lines`, and it is
 * pushed onto `opened` so the test file disposes it afterwards.
 */
export function openTinyService(opened: HiggsAudio[], extra: Record<string, unknown> = {}, lines: string[] = []): HiggsAudio {
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  const tts = new HiggsAudio({
    config: { modelDir: tinyHfDir, codecDir: tinyCodecDir, voicesDir: null, device: 'cpu', dtype: 'float32', maxContext: 2048, maxConcurrency: 1, maxQueue: 4, ...extra },
    logger,
  });
  opened.push(tts);
  return tts;
}

/** `parent`/voices with one preset, "tone": a second of a 300 Hz sine made by sox, and its transcript. */
export function toneVoicesDir(parent: string): string {
  const voices = join(parent, 'voices');
  mkdirSync(voices, { recursive: true });
  execFileSync('sox', ['-n', '-r', '24000', '-c', '1', '-b', '16', join(voices, 'tone.wav'), 'synth', '1', 'sine', '300']);
  writeFileSync(join(voices, 'tone.txt'), 'A tone.');
  return voices;
}

/** A serve test's configuration: `env` read as the environment (on the CPU), the tiny model and codec, then `fields`. */
export function tinyServeConfig(env: Record<string, string>, fields: Partial<HiggsConfig>): HiggsConfig {
  return { ...loadConfig({ HIGGS_DEVICE: 'cpu', ...env }), modelDir: tinyHfDir, codecDir: tinyCodecDir, ...fields };
}
