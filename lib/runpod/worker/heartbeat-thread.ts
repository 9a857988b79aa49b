/**
 * The heartbeat loop, as plain JavaScript source for a node:worker_threads Worker (eval mode).
 * It is a string on purpose: it then runs the same from the compiled library and from TypeScript
 * sources under a test runner, with no loader in the thread. Its own event loop keeps pinging
 * while the main thread is busy (docs/runpod-protocol.md#heartbeat: the SDK uses a separate process).
 *
 * workerData: { url, apiKey, intervalMs, version }. Messages in: { jobs: string[] } and
 * { stop: true }. Messages out: { sent: { url, status } } after each ping (for logs and tests).
 */
export const HEARTBEAT_THREAD_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const { url, apiKey, intervalMs, version } = workerData;
let jobs = [];
let stopped = false;
let wake = null;

parentPort.on('message', (message) => {
  if (message && Array.isArray(message.jobs)) jobs = message.jobs;
  if (message && message.stop) {
    stopped = true;
    if (wake) wake();
  }
});

const sleep = (ms) => new Promise((resolve) => {
  const timer = setTimeout(() => { wake = null; resolve(); }, ms);
  wake = () => { clearTimeout(timer); wake = null; resolve(); };
});

function pingUrl() {
  const query = new URLSearchParams();
  if (jobs.length > 0) query.append('job_id', jobs.join(','));
  query.append('runpod_version', version);
  return url + (url.includes('?') ? '&' : '?') + query.toString();
}

// The SDK's requests session: up to 3 retries on these statuses, backoff factor 1.
const RETRY = new Set([429, 500, 502, 503, 504]);

async function ping() {
  const target = pingUrl();
  for (let retry = 0; ; retry += 1) {
    let status = 0;
    try {
      const response = await fetch(target, {
        method: 'GET',
        headers: { Authorization: apiKey },
        signal: AbortSignal.timeout(2 * intervalMs),
      });
      status = response.status;
      await response.arrayBuffer(); // the answer is ignored, but the socket is freed
    } catch (error) {
      status = 0;
    }
    if (!RETRY.has(status) || retry >= 3 || stopped) {
      parentPort.postMessage({ sent: { url: target, status } });
      return;
    }
    await sleep(1000 * 2 ** retry);
  }
}

(async () => {
  // Send at once, then every interval (measured from the start of each ping).
  while (!stopped) {
    const started = Date.now();
    await ping();
    if (stopped) break;
    await sleep(Math.max(0, intervalMs - (Date.now() - started)));
  }
  parentPort.close();
})();
`;
