/**
 * An http(s) `ref_audio` URL of the speech API, fetched only where the operator allows it
 * (HIGGS_REF_AUDIO_FETCH=1): through the same public-address guard as a job's own S3 endpoint
 * (the host resolved and checked before, every socket checked again when it connects), no
 * redirects, at most the reference-audio byte limit, within a time limit. Hosts in
 * HIGGS_REF_AUDIO_ALLOWED_HOSTS (host or host:port) may be private (a file server beside the
 * worker). Every failure is an E_INPUT about ref_audio.
 */
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { HiggsError } from '../common/errors.js';
import { REFERENCE_AUDIO_LIMITS } from '../audio/limits.js';
import { isAllowedEndpoint, parseAllowedEndpoints, type AllowedEndpoint } from '../s3/address-policy.js';
import { checkEndpointHost, guardedAgents, refusalIn, type RefusalLabels } from '../s3/guard.js';

export interface FetchPolicy {
  enabled: boolean;
  allowed: AllowedEndpoint[];
  /** Whole fetch, connection to last byte. */
  timeoutMs: number;
  maxBytes: number;
}

export const FETCH_DISABLED: FetchPolicy = { enabled: false, allowed: [], timeoutMs: 20_000, maxBytes: REFERENCE_AUDIO_LIMITS.maxBytes };

const LABELS: RefusalLabels = { subject: 'ref_audio: URL host', allowVariable: 'HIGGS_REF_AUDIO_ALLOWED_HOSTS' };

/** The policy from the environment (HIGGS_REF_AUDIO_FETCH 0/1, HIGGS_REF_AUDIO_ALLOWED_HOSTS). */
export function readFetchPolicy(env: Record<string, string | undefined>): FetchPolicy {
  const flag = env.HIGGS_REF_AUDIO_FETCH?.trim();
  if (flag !== undefined && flag !== '' && flag !== '0' && flag !== '1') {
    throw new HiggsError('E_INPUT', `invalid configuration: HIGGS_REF_AUDIO_FETCH: must be 0 or 1 (got ${JSON.stringify(flag)})`);
  }
  let allowed: AllowedEndpoint[];
  try {
    allowed = parseAllowedEndpoints(env.HIGGS_REF_AUDIO_ALLOWED_HOSTS);
  } catch (error) {
    throw new HiggsError('E_INPUT', `invalid configuration: HIGGS_REF_AUDIO_ALLOWED_HOSTS: ${(error as Error).message}`);
  }
  return { ...FETCH_DISABLED, enabled: flag === '1', allowed };
}

function refused(message: string, cause?: unknown): HiggsError {
  return new HiggsError('E_INPUT', `invalid request: ref_audio: ${message}`, { cause });
}

/**
 * `address` as a URL this policy would fetch, or E_INPUT saying why not: what can be told without
 * the network (fetching on, a valid http(s) URL without credentials), so a request is refused
 * before it waits for a slot. The host is checked when it is fetched.
 */
export function checkReferenceUrl(address: string, policy: FetchPolicy): URL {
  if (!policy.enabled) {
    throw refused('http(s) URLs are not fetched by this server (the operator can allow it: HIGGS_REF_AUDIO_FETCH=1); send the audio as base64 or a data: URI');
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw refused('not a valid URL');
  }
  if (url.username || url.password) throw refused('URLs with credentials are not fetched');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refused('only http(s) URLs are fetched');
  return url;
}

/** The audio at `address` as base64, or E_INPUT saying why not. */
export async function fetchReferenceAudio(address: string, policy: FetchPolicy, signal?: AbortSignal): Promise<string> {
  const url = checkReferenceUrl(address, policy);
  const allowed = isAllowedEndpoint(policy.allowed, url);
  if (!allowed) {
    try {
      await checkEndpointHost(url, LABELS);
    } catch (error) {
      throw refused((error as Error).message.replace(/^ref_audio: /, ''), error);
    }
  }
  const agents = allowed ? undefined : guardedAgents(LABELS);
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  const agent = url.protocol === 'https:' ? agents?.httpsAgent : agents?.httpAgent;
  try {
    return await new Promise<string>((resolve, reject) => {
      const request = get(url, { agent, timeout: policy.timeoutMs, signal }, (response: IncomingMessage) => {
        if (response.statusCode !== 200) {
          response.resume();
          const where = response.statusCode && response.statusCode >= 300 && response.statusCode < 400 ? ' (redirects are not followed)' : '';
          return reject(refused(`the URL answered HTTP ${response.statusCode}${where}`));
        }
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > policy.maxBytes) {
          response.destroy();
          return reject(refused(`the audio is over the ${policy.maxBytes} byte limit`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > policy.maxBytes) {
            response.destroy();
            reject(refused(`the audio is over the ${policy.maxBytes} byte limit`));
          } else {
            chunks.push(chunk);
          }
        });
        response.on('end', () => resolve(Buffer.concat(chunks).toString('base64')));
        response.on('error', reject);
      });
      const deadline = setTimeout(() => request.destroy(refused(`no answer within ${policy.timeoutMs} ms`)), policy.timeoutMs);
      request.on('close', () => clearTimeout(deadline));
      request.on('timeout', () => request.destroy(refused(`no answer within ${policy.timeoutMs} ms`)));
      request.on('error', reject);
    });
  } catch (error) {
    if (error instanceof HiggsError) throw error;
    const refusal = refusalIn(error);
    if (refusal) throw refused(refusal.message.replace(/^ref_audio: /, ''), error);
    throw refused(`the URL could not be fetched (${(error as { code?: string }).code ?? (error as Error).message})`, error);
  } finally {
    agents?.httpAgent.destroy();
    agents?.httpsAgent.destroy();
  }
}
