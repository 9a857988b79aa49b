/**
 * S3 endpoint URLs as RunPod workers get them (BUCKET_ENDPOINT_URL, s3Config.endpointUrl): a
 * bucket may sit in the host (`https://my-bucket.s3.us-east-1.amazonaws.com`, DigitalOcean
 * Spaces, Backblaze) or in the path (`http://minio:9000/my-bucket`). This splits such a URL into
 * the service endpoint, the bucket and the region, like rp_upload's extract_region_from_url.
 */

export interface ParsedEndpoint {
  /** Service endpoint for the SDK; undefined means AWS's own endpoint for the region. */
  endpoint?: string;
  bucket?: string;
  region?: string;
}

/** Hosts that carry `<bucket>.` before the service host. The region comes from the service host. */
const HOSTED: { pattern: RegExp; aws: boolean }[] = [
  // AWS: s3.amazonaws.com, s3.<region>.amazonaws.com, s3-<region>.amazonaws.com (legacy)
  { pattern: /^(?:(?<bucket>.+)\.)?s3(?:[.-](?<region>[a-z0-9-]+))?\.amazonaws\.com$/, aws: true },
  // Backblaze B2: s3.<region>.backblazeb2.com
  { pattern: /^(?:(?<bucket>.+)\.)?(?<service>s3\.(?<region>[a-z0-9-]+)\.backblazeb2\.com)$/, aws: false },
  // DigitalOcean Spaces: <region>.digitaloceanspaces.com
  { pattern: /^(?:(?<bucket>.+)\.)?(?<service>(?<region>[a-z0-9-]+)\.digitaloceanspaces\.com)$/, aws: false },
];

/** Bucket names S3 and its look-alikes accept; anything else cannot be a bucket (no '/', '?', ...). */
export const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

/** Throws a plain Error (the caller adds which setting it was) for a URL that cannot be used. */
export function parseEndpoint(raw: string): ParsedEndpoint {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Error('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('must be an http(s) URL');
  // Credentials in the URL would end up in error messages and logs.
  if (url.username || url.password) throw new Error('must not carry credentials (user:password@)');

  const segments = url.pathname.split('/').filter(Boolean);
  if (segments.length > 1) throw new Error('may name at most one bucket in its path');
  const pathBucket = segments[0] && decodeURIComponent(segments[0]);

  const host = url.hostname.toLowerCase();
  for (const { pattern, aws } of HOSTED) {
    const m = pattern.exec(host);
    if (!m?.groups) continue;
    const { bucket, region, service } = m.groups;
    const port = url.port ? `:${url.port}` : '';
    return {
      // AWS: let the SDK build the regional endpoint (virtual-hosted, region redirects).
      endpoint: aws ? undefined : `${url.protocol}//${service}${port}`,
      bucket: bucket ?? pathBucket,
      region: region === undefined || region === 'external-1' ? undefined : region,
    };
  }
  return { endpoint: url.origin, bucket: pathBucket };
}
