/**
 * What the RunPod handler needs of an audio store: the storage layer defines it and implements it
 * (lib/s3/client.ts); the handler (lib/runpod/handler.ts) only uses it.
 */

/** Uploads an encoded audio file and returns where to fetch it. */
export interface AudioDelivery {
  /** Rejects (E_INPUT) a job's s3Config that could never be used, before any work is spent on the job. */
  check(s3Config: unknown): Promise<void>;
  upload(audio: Buffer, meta: { jobId: string; format: string; s3Config?: unknown }): Promise<{ url: string; key: string; bucket: string; expiresInSeconds: number }>;
}
