// The CLI and the request table held together (lib/cli/request-flags.ts): every request field has
// a flag, or one of the flags that give it its shape; each flag's help shows the table's bounds
// and default; values are converted and bounded by the table, the flag named when one is not.
import { describe, expect, it } from 'vitest';
import { REQUEST_DEFAULTS } from '../../lib/request/defaults.js';
import { REQUEST_FLAGS, SHAPED_FIELDS, requestFields, requestFlagHelp } from '../../lib/cli/request-flags.js';
import { parseInvocation } from '../../lib/cli/args.js';
import { UsageError } from '../../lib/cli/usage-error.js';

describe('request flags', () => {
  it('cover every field of the request table, one flag each', () => {
    for (const field of Object.keys(REQUEST_DEFAULTS)) {
      const flags = REQUEST_FLAGS.filter((f) => f.field === field);
      expect(flags.length + (Object.hasOwn(SHAPED_FIELDS, field) ? 1 : 0), field).toBe(1);
    }
    expect(new Set(REQUEST_FLAGS.map((f) => f.flag)).size).toBe(REQUEST_FLAGS.length);
  });

  it("show each field's bounds and default in the help", () => {
    const help = requestFlagHelp();
    for (const { field, flag } of REQUEST_FLAGS) {
      const spec = REQUEST_DEFAULTS[field] as { minimum?: number; maximum?: number; default?: unknown };
      const entry = help.slice(help.indexOf(`--${flag} `)).split('\n      --')[0]!.replace(/\s+/g, ' ');
      if (spec.minimum !== undefined) expect(entry, flag).toContain(`${spec.minimum} to ${spec.maximum}`);
      if (spec.default !== undefined && spec.default !== null) expect(entry, flag).toContain(`default ${String(spec.default)}`);
    }
  });

  it('convert values by the table and name the flag of one out of bounds', () => {
    expect(requestFields({ temperature: '0.25', 'top-k': '7', 'chunk-method': 'word', seed: '0', 'sample-rate': '16000' }, 'speak')).toEqual({
      temperature: 0.25,
      top_k: 7,
      chunk_method: 'word',
      seed: 0,
      sample_rate: 16000,
    });
    for (const { field, flag, kind } of REQUEST_FLAGS) {
      const spec = REQUEST_DEFAULTS[field] as { minimum?: number; maximum?: number };
      if (kind === 'string' || spec.maximum === undefined) continue;
      expect(() => requestFields({ [flag]: String(spec.maximum! + 1) }, 'speak'), flag).toThrow(new RegExp(`^--${flag} must be`));
      expect(() => requestFields({ [flag]: String(spec.maximum) }, 'speak'), flag).not.toThrow();
    }
  });

  it('reach the request speak makes', () => {
    const invocation = parseInvocation(['speak', '--text', 'Hi.', '--ras-win-max-num-repeat', '3', '--generation-chunk-buffer-size', '2', '--save-voice', 'mine', '--format', 'pcm_16000']);
    expect(invocation).toMatchObject({
      kind: 'speak',
      args: { fields: { ras_win_max_num_repeat: 3, generation_chunk_buffer_size: 2, save_voice: 'mine', output_format: 'pcm_16000' }, out: 'higgs-audio.pcm', json: false },
    });
    expect(() => parseInvocation(['speak', '--text', 'Hi.', '--speaker', '0=a', '--speaker', 'SPEAKER0=b'])).toThrow(UsageError);
  });
});
