// HiggsAudio over the tiny test model and codec, on the CPU in fp32: the set-up the service tests share.
import { join } from 'node:path';
import { createLogger } from '../../lib/common/log.js';
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
