/**
 * The Hub `pull` talks to, from the environment as the Hub's own clients read it: HF_ENDPOINT
 * (a mirror; default https://huggingface.co) and HF_TOKEN (sent as "Authorization: Bearer",
 * needed for gated or private repositories).
 */
import { HiggsError } from '../common/errors.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubSettings {
  /** Without a trailing slash; may carry a path (a mirror mounted below one). */
  endpoint: string;
  token?: string;
}

/** @throws HiggsError E_INPUT when HF_ENDPOINT is not an http(s) URL. */
export function hubSettings(env: NodeJS.ProcessEnv): HubSettings {
  const given = env.HF_ENDPOINT?.trim();
  const endpoint = given ? given.replace(/\/+$/, '') : DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new HiggsError('E_INPUT', `HF_ENDPOINT must be an http(s) URL (got ${JSON.stringify(given)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HiggsError('E_INPUT', `HF_ENDPOINT must be an http(s) URL (got ${JSON.stringify(given)})`);
  }
  const token = env.HF_TOKEN?.trim();
  return { endpoint, ...(token ? { token } : {}) };
}
