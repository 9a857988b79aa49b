/**
 * A RunPod job that carries an OpenAI call: `{"input": {"openai_route": "/v1/audio/speech",
 * "openai_input": {...}}}`, the passthrough shape RunPod's vLLM worker uses. It runs the very
 * calls `serve`'s /v1 routes run (speech-service.ts), so a job and an HTTP request with the same
 * body give the same audio.
 */
import { HiggsError } from '../common/errors.js';

export const PASSTHROUGH_ROUTES = ['/v1/audio/speech', '/v1/models', '/v1/audio/voices'] as const;
export type PassthroughRoute = (typeof PASSTHROUGH_ROUTES)[number];

export interface PassthroughJob {
  route: PassthroughRoute;
  /** The body of the call (speech); {} for the lists. */
  body: Record<string, unknown>;
}

/**
 * The OpenAI call a job input carries, or null for an ordinary TTS input (no `openai_route`).
 * @throws HiggsError E_INPUT for an unknown route, a body that is not an object, or other keys.
 */
export function passthroughJob(input: unknown): PassthroughJob | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || !Object.hasOwn(input, 'openai_route')) return null;
  const { openai_route: route, openai_input: body, ...rest } = input as Record<string, unknown>;
  if (typeof route !== 'string' || !(PASSTHROUGH_ROUTES as readonly string[]).includes(route)) {
    throw new HiggsError('E_INPUT', `openai_route: must be one of ${PASSTHROUGH_ROUTES.join(', ')}`);
  }
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new HiggsError('E_INPUT', `input: an openai_route job takes openai_input only (got ${extra.slice(0, 5).join(', ')})`);
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new HiggsError('E_INPUT', 'openai_input: must be a JSON object (the body of the OpenAI call)');
  }
  if (route === '/v1/audio/speech' && body === undefined) throw new HiggsError('E_INPUT', 'openai_input: required for /v1/audio/speech');
  return { route: route as PassthroughRoute, body: (body as Record<string, unknown> | undefined) ?? {} };
}
