/**
 * What HiggsAudio tells an observer as it works (HiggsAudioOptions.observer): figures that only
 * the service sees, for metrics (lib/server/metrics.ts) without parsing its logs. Every method is
 * optional and called synchronously; an observer that throws is ignored (it must never fail a
 * request). Gauges (slots, queue, model, memory) need no hook: health() has them.
 */
export interface ServiceObserver {
  /** A request got its slot after waiting `seconds` in the admission queue (files, decodes and streams). */
  onQueueWait?(seconds: number): void;
  /**
   * A generation finished (a whole file, codes or a stream that reached its end): the audio it
   * made and the codec frames generated for it. Cache hits and decode-only requests generate
   * nothing and are not reported; a stream stopped before its end is not either.
   */
  onGenerated?(generated: { kind: 'file' | 'stream'; audioSeconds: number; frames: number; generateSeconds: number }): void;
  /** A lookup in the voice code cache (memory or disk: a hit; encoded: a miss) or the result cache. */
  onCache?(cache: 'voice' | 'result', hit: boolean): void;
}

/** Calls `call` on the observer, swallowing what it throws. */
export function tell(observer: ServiceObserver | undefined, call: (observer: ServiceObserver) => void): void {
  if (!observer) return;
  try {
    call(observer);
  } catch {
    // an observer's fault is not the request's
  }
}
