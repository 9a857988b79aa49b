/**
 * Sends a session's messages and audio on its WebSocket with bounded memory: bytes handed to the
 * socket count as unsent until the network has taken them (the write's callback), and past
 * `maxUnsentBytes` the audio waits, which pauses the session's generation (it runs only as its
 * audio is taken). A client that takes nothing for `stallMs` while audio waits is cut off (the
 * socket destroyed, so its session is cancelled and its slot freed), as an HTTP stream is.
 */
import { WebSocket } from 'ws';

/** Room a reply to a client's message (an error) may take past the bound: a client that sends and never reads is cut off there. */
const REPLY_SLACK_BYTES = 64 * 1024;

export class SocketSender {
  private unsent = 0;
  private wake: (() => void) | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly maxUnsentBytes: number,
    private readonly stallMs: number,
  ) {}

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Bytes handed to the socket that the network has not taken yet. */
  get unsentBytes(): number {
    return this.unsent;
  }

  /**
   * Sends `data` (JSON for an object, a binary frame for a Buffer) once there is room; false once
   * the socket is closed or was cut off for taking nothing for stallMs.
   */
  async send(data: Buffer | Record<string, unknown>): Promise<boolean> {
    while (this.open && this.unsent > this.maxUnsentBytes) {
      if (!(await this.progress())) {
        this.ws.terminate(); // not read for stallMs: no close handshake could get through either
        return false;
      }
    }
    return this.hand(data);
  }

  /** Sends a reply to a client's message now, without waiting: small, but bounded all the same. */
  reply(message: Record<string, unknown>): boolean {
    if (this.unsent > this.maxUnsentBytes + REPLY_SLACK_BYTES) {
      this.ws.terminate();
      return false;
    }
    return this.hand(message);
  }

  private hand(data: Buffer | Record<string, unknown>): boolean {
    if (!this.open) return false;
    const binary = Buffer.isBuffer(data);
    const payload = binary ? data : JSON.stringify(data);
    const size = binary ? data.length : Buffer.byteLength(payload as string);
    this.unsent += size;
    this.ws.send(payload, { binary }, () => {
      this.unsent -= size;
      this.wake?.();
    });
    return true;
  }

  /** True when the network took something (or the socket closed) within stallMs. */
  private progress(): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (progressed: boolean) => {
        clearTimeout(timer);
        this.ws.off('close', closed);
        this.wake = null;
        resolve(progressed);
      };
      const closed = () => finish(true);
      const timer = setTimeout(() => finish(false), this.stallMs);
      this.wake = () => finish(true);
      this.ws.once('close', closed);
    });
  }
}
