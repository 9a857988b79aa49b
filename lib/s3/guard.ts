/**
 * Keeps a job's own S3 client on public addresses (s3-address-policy.ts). The endpoint is checked
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

/** Marks a refusal inside the SDK's error chain, so s3Failure reports it as it is. */
export class RefusedAddressError extends Error {
  readonly code = 'EREFUSEDADDRESS';
  constructor(host: string, address: string) {
    super(
      `s3Config: endpointUrl host ${host} ${host === address ? 'is' : `resolves to ${address}, which is`} a loopback, ` +
        'private, link-local or metadata address; the operator can allow the host in HIGGS_S3_ALLOWED_ENDPOINTS',
    );
    this.name = 'RefusedAddressError';
  }
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
}

/** Throws HiggsError E_INPUT when `url`'s host is, or resolves to, a refused address (or does not resolve). */
export async function checkEndpointHost(url: URL): Promise<void> {
  const host = bareHost(url.hostname);
  if (isIP(host)) {
    if (isRefusedAddress(host)) throw new HiggsError('E_INPUT', new RefusedAddressError(host, host).message);
    return;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(host);
  } catch (error) {
    throw new HiggsError('E_INPUT', `s3Config: endpointUrl host ${host} does not resolve (${(error as { code?: string }).code ?? 'DNS error'})`);
  }
  const refused = addresses.find((a) => isRefusedAddress(a.address));
  if (refused) throw new HiggsError('E_INPUT', new RefusedAddressError(host, refused.address).message);
}

/** dns.lookup that fails when any address of the name is refused. */
const guardedLookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  dnsLookup(hostname, { ...options, all: true, verbatim: true }, (error, addresses) => {
    if (error) return callback(error);
    const refused = addresses.find((a) => isRefusedAddress(a.address));
    if (refused) return callback(new RefusedAddressError(hostname, refused.address));
    if (addresses.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }));
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}) as unknown as LookupFunction;

/** The last line: an IP-literal host skips the lookup, so the connected address is tested too. */
function closeIfRefused(stream: Duplex | null | undefined, host: string | null | undefined): Duplex | null | undefined {
  const socket = stream as Socket | null | undefined;
  socket?.once('connect', () => {
    const address = socket.remoteAddress;
    if (address !== undefined && isRefusedAddress(address)) socket.destroy(new RefusedAddressError(host ?? address, address));
  });
  return stream;
}

class GuardedHttpAgent extends HttpAgent {
  override createConnection(options: ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void) {
    return closeIfRefused(super.createConnection(options, callback), options.host);
  }
}

class GuardedHttpsAgent extends HttpsAgent {
  override createConnection(options: RequestOptions, callback?: (error: Error | null, stream: Duplex) => void) {
    return closeIfRefused(super.createConnection(options, callback), options.host);
  }
}

/** Agents for one job client: every connection resolves and connects only to allowed addresses. */
export function guardedAgents(): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  const options: AgentOptions = { keepAlive: false, lookup: guardedLookup } as AgentOptions;
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
