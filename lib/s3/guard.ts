/**
 * Keeps a job's own S3 client (and a fetched ref_audio URL, lib/openai/fetch-reference.ts) on
 * public addresses (s3-address-policy.ts). The endpoint is checked
 * before any work: its host resolved, every address tested. The client's sockets then resolve
 * through a lookup that tests every address again (a name may resolve differently a second
 * time), and a socket that still reaches a refused address is closed before it sends a byte.
 * Hosts the operator allows (HIGGS_S3_ALLOWED_ENDPOINTS) skip all of it; the worker's own
 * endpoint (BUCKET_ENDPOINT_URL) is never guarded.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, type AgentOptions, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions } from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { HiggsError } from '../common/errors.js';
import { bareHost, isRefusedAddress } from './address-policy.js';

/** Who is refused, for messages: the field that named the host and the operator's allow-list. */
export interface RefusalLabels {
  subject: string;
  allowVariable: string;
}
const S3_LABELS: RefusalLabels = { subject: 's3Config: endpointUrl host', allowVariable: 'HIGGS_S3_ALLOWED_ENDPOINTS' };

/** Marks a refusal inside the SDK's error chain, so s3Failure reports it as it is. */
export class RefusedAddressError extends Error {
  readonly code = 'EREFUSEDADDRESS';
  constructor(host: string, address: string, labels: RefusalLabels = S3_LABELS) {
    super(
      `${labels.subject} ${host} ${host === address ? 'is' : `resolves to ${address}, which is`} a loopback, ` +
        `private, link-local or metadata address; the operator can allow the host in ${labels.allowVariable}`,
    );
    this.name = 'RefusedAddressError';
  }
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
}

/** Throws HiggsError E_INPUT when `url`'s host is, or resolves to, a refused address (or does not resolve). */
export async function checkEndpointHost(url: URL, labels: RefusalLabels = S3_LABELS): Promise<void> {
  const host = bareHost(url.hostname);
  if (isIP(host)) {
    if (isRefusedAddress(host)) throw new HiggsError('E_INPUT', new RefusedAddressError(host, host, labels).message);
    return;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(host);
  } catch (error) {
    throw new HiggsError('E_INPUT', `${labels.subject} ${host} does not resolve (${(error as { code?: string }).code ?? 'DNS error'})`);
  }
  const refused = addresses.find((a) => isRefusedAddress(a.address));
  if (refused) throw new HiggsError('E_INPUT', new RefusedAddressError(host, refused.address, labels).message);
}

/** dns.lookup that fails when any address of the name is refused. */
const guardedLookup = (labels: RefusalLabels) => ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  dnsLookup(hostname, { ...options, all: true, verbatim: true }, (error, addresses) => {
    if (error) return callback(error);
    const refused = addresses.find((a) => isRefusedAddress(a.address));
    if (refused) return callback(new RefusedAddressError(hostname, refused.address, labels));
    if (addresses.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }));
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}) as unknown as LookupFunction;

/** The last line: an IP-literal host skips the lookup, so the connected address is tested too. */
function closeIfRefused(stream: Duplex | null | undefined, host: string | null | undefined, labels: RefusalLabels): Duplex | null | undefined {
  const socket = stream as Socket | null | undefined;
  socket?.once('connect', () => {
    const address = socket.remoteAddress;
    if (address !== undefined && isRefusedAddress(address)) socket.destroy(new RefusedAddressError(host ?? address, address, labels));
  });
  return stream;
}

type GuardedAgentOptions = AgentOptions & { labels: RefusalLabels };

class GuardedHttpAgent extends HttpAgent {
  private readonly labels: RefusalLabels;
  constructor(options: GuardedAgentOptions) {
    super(options);
    this.labels = options.labels;
  }
  override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void) {
    return closeIfRefused(super.createConnection(options, callback), options.host, this.labels);
  }
}

class GuardedHttpsAgent extends HttpsAgent {
  private readonly labels: RefusalLabels;
  constructor(options: GuardedAgentOptions) {
    super(options);
    this.labels = options.labels;
  }
  override createConnection(options: RequestOptions, callback?: (error: Error | null, stream: Duplex) => void) {
    return closeIfRefused(super.createConnection(options, callback), options.host, this.labels);
  }
}

/** Agents for one client: every connection resolves and connects only to allowed addresses. */
export function guardedAgents(labels: RefusalLabels = S3_LABELS): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  const options = { keepAlive: false, lookup: guardedLookup(labels), labels } as GuardedAgentOptions;
  return { httpAgent: new GuardedHttpAgent(options), httpsAgent: new GuardedHttpsAgent(options) };
}

/** The refusal somewhere in an error's chain (the SDK wraps socket errors), if there is one. */
export function refusalIn(error: unknown): RefusedAddressError | undefined {
  for (let e = error as { cause?: unknown; errors?: unknown[] } | undefined, depth = 0; e && depth < 6; depth++) {
    if (e instanceof RefusedAddressError) return e;
    const inner = e.errors?.find((x) => x instanceof RefusedAddressError);
    if (inner) return inner as RefusedAddressError;
    e = e.cause as typeof e | undefined;
  }
  return undefined;
}
