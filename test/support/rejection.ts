// The HiggsError a promise rejects with (the test fails if it resolves or rejects otherwise).
import { expect } from 'vitest';
import { HiggsError } from '../../lib/common/errors.js';

export async function rejection(promise: Promise<unknown>): Promise<HiggsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HiggsError);
  return err as HiggsError;
}
