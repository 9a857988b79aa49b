// s3rver ships no types; the tests use only what is declared here.
declare module 's3rver' {
  export default class S3rver {
    constructor(options: Record<string, unknown>);
    run(): Promise<{ port: number; address: string }>;
    close(): Promise<void>;
    [key: string]: unknown;
  }
}
