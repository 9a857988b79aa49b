/**
 * A fake Hugging Face Hub on loopback (plain node:http) speaking the HTTP API as
 * @huggingface/hub and `higgs-audio pull` call it: GET /api/models/{repo}/revision/{rev} (the
 * commit sha), GET /api/models/{repo}/tree/{rev}?recursive=true (sizes, git blob ids, LFS sha256,
 * paged with Link headers), GET /{repo}/resolve/{rev}/{path} (LFS files redirect with 302 to a
 * /cdn/ path, as the Hub sends them to its CDN) with Range/206/416. Errors carry the Hub's
 * X-Error-Code. Faults per file: cut the connection after N bytes, answer a status, alter bytes.
 * It can be mounted below a path prefix, as a mirror behind HF_ENDPOINT may be.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepoOptions {
  /** A gated repository: revision, tree and resolve need "Authorization: Bearer TOKEN". */
  gated?: boolean;
  /** Files stored in LFS (the Hub lists their sha256); default: weights files. */
  lfs?: (path: string) => boolean;
}

interface FakeRepo {
  commit: string;
  files: Map<string, Buffer>;
  gated: boolean;
  lfs: (path: string) => boolean;
}

/** What to do with one request for a file's bytes; `n` counts that repository file's byte requests from 1. */
export type Fault = { cutAfter: number } | { status: number } | { alter: true } | { ignoreRange: true } | undefined;

export interface RecordedRequest {
  kind: 'revision' | 'tree' | 'resolve' | 'cdn' | 'other';
  repo?: string;
  file?: string;
  url: string;
  range?: string;
  authorization?: string;
  status?: number;
}

export const gitBlobId = (bytes: Buffer): string => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const defaultLfs = (path: string): boolean => /\.(safetensors|pth|bin)$/.test(path);

export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  /** Decides each byte request's fault; tests replace it. */
  fault: (file: string, n: number) => Fault = () => undefined;
  /** Tree entries per page (the client follows the Link header). */
  pageSize = 1000;
  private readonly repos = new Map<string, FakeRepo>();
  private readonly byteRequests = new Map<string, number>();
  private readonly blobs = new Map<string, { repo: string; file: string; bytes: Buffer }>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    readonly prefix: string,
    readonly token: string,
  ) {}

  /** The address to give as HF_ENDPOINT. */
  get url(): string {
    return `${this.origin}${this.prefix}`;
  }

  static async start(options: { prefix?: string; token?: string } = {}): Promise<FakeHub> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const hub = new FakeHub(server, `http://127.0.0.1:${port}`, options.prefix ?? '', options.token ?? 'hf_fake_token');
    server.on('request', (req, res) => hub.handle(req, res));
    return hub;
  }

  /** Adds (or replaces, as a new commit) a repository. Returns its commit sha. */
  addRepo(id: string, files: Record<string, Buffer>, options: FakeRepoOptions = {}): string {
    const hash = createHash('sha1').update(id);
    for (const path of Object.keys(files).sort()) hash.update(path).update(sha256(files[path]!));
    const commit = hash.digest('hex');
    const repo: FakeRepo = { commit, files: new Map(Object.entries(files)), gated: options.gated ?? false, lfs: options.lfs ?? defaultLfs };
    this.repos.set(id, repo);
    for (const [file, bytes] of repo.files) if (repo.lfs(file)) this.blobs.set(sha256(bytes), { repo: id, file, bytes });
    return commit;
  }

  /** Byte requests (resolve answered with bytes, or cdn) for one file. */
  byteRequestsFor(file: string): RecordedRequest[] {
    return this.requests.filter((r) => r.file === file && (r.kind === 'cdn' || (r.kind === 'resolve' && r.status !== 302)));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.origin);
    const record: RecordedRequest = { kind: 'other', url: url.pathname + url.search, range: req.headers.range, authorization: req.headers.authorization };
    this.requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (cdn) {
      const blob = this.blobs.get(cdn[1]!);
      Object.assign(record, { kind: 'cdn', repo: blob?.repo, file: blob?.file });
      return blob ? this.sendBytes(req, res, blob.repo, blob.file, blob.bytes) : this.error(res, 404, 'EntryNotFound');
    }
    if (!url.pathname.startsWith(`${this.prefix}/`)) return this.error(res, 404, '');
    const path = decodeURIComponent(url.pathname.slice(this.prefix.length));
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const match = api ?? resolve;
    if (!match) return this.error(res, 404, '');
    const id = match[1]!;
    Object.assign(record, { kind: api ? api[2] : 'resolve', repo: id, file: resolve?.[3] });
    const repo = this.repos.get(id);
    if (!repo) return this.error(res, 404, 'RepoNotFound');
    if (repo.gated && req.headers.authorization !== `Bearer ${this.token}`) return this.error(res, req.headers.authorization ? 403 : 401, 'GatedRepo');
    const revision = api ? api[3]! : resolve![2]!;
    if (revision !== 'main' && revision !== repo.commit) return this.error(res, 404, 'RevisionNotFound');
    if (api?.[2] === 'revision') return this.json(res, { _id: id, id, sha: repo.commit, private: false, gated: repo.gated ? 'manual' : false, downloads: 0, likes: 0, lastModified: '2025-01-01T00:00:00.000Z', pipeline_tag: 'text-to-speech' });
    if (api) return this.tree(res, url, repo);
    const file = resolve![3]!;
    const bytes = repo.files.get(file);
    if (!bytes) return this.error(res, 404, 'EntryNotFound');
    if (repo.lfs(file)) {
      res.writeHead(302, { location: `${this.origin}/cdn/${sha256(bytes)}`, 'content-length': 0 });
      return void res.end();
    }
    this.sendBytes(req, res, id, file, bytes);
  }

  private tree(res: ServerResponse, url: URL, repo: FakeRepo): void {
    const entries = [...new Set([...repo.files.keys()].flatMap((file) => file.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))))]
      .map((dir) => ({ type: 'directory', oid: gitBlobId(Buffer.from(dir)), size: 0, path: dir }))
      .concat(
        [...repo.files].map(([path, bytes]) => {
          if (!repo.lfs(path)) return { type: 'file', oid: gitBlobId(bytes), size: bytes.length, path } as never;
          const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(bytes)}\nsize ${bytes.length}\n`);
          return { type: 'file', oid: gitBlobId(pointer), size: bytes.length, path, lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: pointer.length } } as never;
        }),
      );
    const start = Number(url.searchParams.get('cursor') ?? 0);
    const page = entries.slice(start, start + this.pageSize);
    const headers: Record<string, string> = {};
    if (start + this.pageSize < entries.length) {
      const next = new URL(url);
      next.searchParams.set('cursor', String(start + this.pageSize));
      headers.link = `<${next.href}>; rel="next"`;
    }
    this.json(res, page, headers);
  }

  private sendBytes(req: IncomingMessage, res: ServerResponse, repo: string, file: string, original: Buffer): void {
    const key = `${repo}/${file}`;
    const n = (this.byteRequests.get(key) ?? 0) + 1;
    this.byteRequests.set(key, n);
    const fault = this.fault(file, n);
    if (fault && 'status' in fault) return this.error(res, fault.status, '');
    let bytes = original;
    if (fault && 'alter' in fault) {
      bytes = Buffer.from(original);
      bytes[bytes.length >> 1]! ^= 0xff;
    }
    const range = fault && 'ignoreRange' in fault ? undefined : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = bytes.length - 1;
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      if (start >= bytes.length) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.length}` });
        return void res.end();
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${bytes.length}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': bytes.length, 'accept-ranges': 'bytes' });
    }
    const body = bytes.subarray(start, end + 1);
    if (fault && 'cutAfter' in fault) {
      // Flushed first, then the connection dies mid-body: the client has exactly these bytes.
      res.write(body.subarray(0, fault.cutAfter), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }

  private json(res: ServerResponse, value: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(value));
  }

  private error(res: ServerResponse, status: number, code: string): void {
    res.writeHead(status, { 'content-type': 'application/json', ...(code ? { 'x-error-code': code } : {}) });
    res.end(JSON.stringify({ error: code || `HTTP ${status}` }));
  }
}
