// The worker-level keys of a RunPod job input (lib/runpod/job-input.ts): taken off the request,
// checked with stable messages, defaulted; everything else is left for the request schema.
import { describe, expect, it } from 'vitest';
import { splitJobInput } from '../../lib/runpod/job-input.js';
import { parseRequest } from '../../lib/request/schema.js';
import { HiggsError } from '../../lib/common/errors.js';

describe('splitJobInput', () => {
  it('takes the worker keys off and leaves the request', () => {
    const job = splitJobInput({ transcript: 'Hi', seed: 3, stream: true, output: 'base64', action: 'health', s3Config: { bucketName: 'b' } });
    expect(job).toEqual({ request: { transcript: 'Hi', seed: 3 }, action: 'health', stream: true, output: 'base64', s3Config: { bucketName: 'b' } });
    expect(parseRequest(job.request).transcript).toBe('Hi');
  });

  it('defaults to base64 without streaming', () => {
    expect(splitJobInput({ transcript: 'Hi' })).toMatchObject({ stream: false, output: 'base64', action: undefined, s3Config: undefined });
    expect(splitJobInput({ transcript: 'Hi', output: 's3' }).output).toBe('s3');
  });

  it.each([
    [null, 'input: must be a JSON object'],
    [[1], 'input: must be a JSON object'],
    [{ output: 'url' }, 'output: must be one of "base64", "s3" (got "url")'],
    [{ output: 1 }, 'output: must be one of "base64", "s3" (got number)'],
    [{ stream: 'yes' }, 'stream: must be true or false'],
    [{ action: 'reboot' }, 'action: unknown action (only "health")'],
  ])('%j is E_INPUT: %s', (input, message) => {
    let error: unknown;
    try {
      splitJobInput(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HiggsError);
    expect(error).toMatchObject({ code: 'E_INPUT', message });
  });

  it('is not a request field: the library schema refuses output', () => {
    expect(() => parseRequest({ transcript: 'Hi', output: 's3' })).toThrow(/output/);
  });
});
