/**
 * `serve`'s playground page: GET (and HEAD) `/` answers web/playground.html, one static page
 * shipped in the package (inline CSS and JS, no build step, nothing fetched from elsewhere) that
 * speaks through the OpenAI routes of the same server: /v1/audio/voices and /v1/audio/speech.
 * Its Content-Security-Policy allows only this page's own inline script and style (by their
 * SHA-256, computed once from the file) and requests to the server itself. Only GET and HEAD of
 * `/` are the page's: `POST /` stays RunPod's job route. HIGGS_PLAYGROUND=0 turns it off
 * (ServeOptions.playground), and then `/` answers as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { packageRoot } from '../common/package-root.js';

/** Where the page lies in the package ("files" in package.json ships web/). */
export function playgroundFile(): string {
  return join(packageRoot(), 'web', 'playground.html');
}

/** The SHA-256 source expressions of every inline `<tag>` element's text in `html`. */
function inlineHashes(html: string, tag: 'script' | 'style'): string[] {
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g');
  return [...html.matchAll(pattern)].map((match) => `'sha256-${createHash('sha256').update(match[1]!, 'utf8').digest('base64')}'`);
}

/** The page's Content-Security-Policy: its own inline script and style, and this server only. */
export function playgroundPolicy(html: string): string {
  return [
    "default-src 'none'",
    `script-src ${inlineHashes(html, 'script').join(' ') || "'none'"}`,
    `style-src ${inlineHashes(html, 'style').join(' ') || "'none'"}`,
    // blob: is the page's own download (a Blob of the answer), read back as a file.
    "connect-src 'self' blob:",
    // The audio element plays a MediaSource or a Blob of the answer: both blob: URLs.
    "media-src 'self' blob:",
    // The favicon is a data: URL (no request that would 404).
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface Playground {
  /** True when it answered (GET or HEAD of `/`); false leaves the request to the other routes. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
}

/**
 * The page, read once. Undefined where the file is missing (a copy of dist/ without web/): then
 * `/` answers as it would without the playground, and a warning says why.
 */
export function createPlayground(file = playgroundFile(), warn?: (message: string) => void): Playground | undefined {
  if (!existsSync(file)) {
    warn?.(`no playground page at ${file}: GET / serves none`);
    return undefined;
  }
  const html = readFileSync(file);
  const headers = {
    'content-type': 'text/html; charset=utf-8',
    'content-length': html.length,
    'content-security-policy': playgroundPolicy(html.toString('utf8')),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  };
  return {
    handle(req, res, pathname) {
      if (pathname !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
      req.resume();
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : html);
      return true;
    },
  };
}
