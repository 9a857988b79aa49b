/** The CLI's help texts: one overview and one page per command. */
import { CONNECTION_LIMITS } from '../server/limits.js';
import { requestFlagHelp } from './request-flags.js';
import { WEBSOCKET_LIMITS, WEBSOCKET_LIMIT_VARIABLES } from '../server/websocket-limits.js';
import type { Command } from './commands.js';

const SPEAK = `Usage: higgs-audio speak (--text TEXT | --file FILE | --codes FILE) [options]

Synthesize speech and write it to an audio file. Prints the file's path, then its duration and
the timings (with --json, the result's report); progress goes to stderr. Every field of a
request has a flag (the request fields' table in docs/library.md says more).

Input and output:
  -t, --text TEXT     The text to speak ([SPEAKERn] tags for several speakers)
  -f, --file FILE     Read the text from FILE (UTF-8; '-' reads standard input)
      --codes FILE    Decode codes instead (a file --format codes wrote); takes --format,
                      --sample-rate and --speed only
  -o, --out FILE      Output file (default ./higgs-audio.<format>; codes: .codes.json)
      --json          Print the result's report as JSON: seed, result hash, each chunk's
                      text, frames, stop reason and place in the audio, the timings

Voice (one of):
      --voice VOICE   A preset voice NAME (NAME.wav + NAME.txt in HIGGS_VOICES_DIR)
                      or profile:NAME (a description in HIGGS_VOICES_DIR/profile.yaml);
                      default: the model chooses a voice
      --ref-audio FILE --ref-text TEXT
                      A clip of the voice (any readable audio) and what it says
      --speaker N=VOICE
                      The voice of [SPEAKERn], repeated per speaker: a preset, profile:NAME
                      or description:TEXT

Request options (bounds and defaults of the request table):
${requestFlagHelp()}
  -h, --help          Show this help
`;

const VOICES = `Usage: higgs-audio voices

List the voices of HIGGS_VOICES_DIR, one per line: preset names first, then profiles as
profile:NAME. Every line is a valid --voice value for 'higgs-audio speak'.
`;

const PULL = `Usage: higgs-audio pull [REPO[@REVISION]...] [--to DIR] [--revision REV]

Download the model and its codec from the Hugging Face Hub: by default
bosonai/higgs-audio-v2-generation-3B-base and bosonai/higgs-audio-v2-tokenizer. Only what
the engine reads is fetched (config, tokenizer, ONE copy of the weights: about 11.5 GB for
the model); every file is checked against the Hub's size and sha256 before it takes its name,
and an interrupted download resumes. Prints each repository's folder on stdout; progress goes
to stderr (JSON lines when it is not a terminal).

Each repository lands in DIR/OWNER/NAME. Without --to, DIR is the pull cache
($HIGGS_CACHE_DIR, else $XDG_CACHE_HOME/higgs-audio, else ~/.cache/higgs-audio), where speak,
serve, worker and the library find it when HIGGS_MODEL_DIR and HIGGS_CODEC_DIR are unset.

Options:
      --to DIR        Put the repositories below DIR (e.g. /workspace/higgs_audio on a RunPod
                      Pod fills the network volume the serverless worker reads)
      --revision REV  Branch, tag or commit of the repositories named (default main);
                      REPO@REV pins one repository
  -h, --help          Show this help

Environment:
  HF_TOKEN           Hub token, for gated or private repositories (accept the licence first)
  HF_ENDPOINT        Hub address (a mirror; default https://huggingface.co)
  HIGGS_CACHE_DIR    The pull cache's folder

Examples:
  higgs-audio pull
  higgs-audio pull --to /workspace/higgs_audio
  higgs-audio pull bosonai/higgs-audio-v2-generation-3B-base --revision 10840182ca4ad5d9d9113b60b9bb3c1ef1ba3f84
`;

const SETUP = `Usage: higgs-audio setup [--cuda] [--no-system-packages] [--jobs N]

Make what the native addon needs on this machine, then build and load it. Run it once after
'npm install higgs-audio'; running it again checks each step and redoes only what is missing.

  1. Debian packages (CMake, a compiler, libsndfile, libsoxr, librubberband, nlohmann-json,
     Python 3 with venv): installed with apt-get when run as root or with password-less sudo,
     else named with the command that installs them. Elsewhere than Debian it names what to
     install and goes on.
  2. torch from pip (its libtorch is what the addon links) into a per-user environment,
     DATA/python/cpu or DATA/python/cuda: about 0.9 GB for cpu, 4.7 GB for cuda.
  3. The addon, built with cmake-js into this package's build/ folder (a few minutes).
  4. Loading it, and saying what it was built with.

DATA is $HIGGS_DATA_DIR, else $XDG_DATA_HOME/higgs-audio, else ~/.local/share/higgs-audio.
Every line the steps print goes to DATA/setup.log. On success it prints where everything went.

Options:
      --cuda                 torch with CUDA 13 and the fused CUDA kernels (no GPU needed to build)
      --no-system-packages   Only check the Debian packages; never run apt-get
      --jobs N               Parallel compile jobs (default: the cores that memory allows, about
                             1.5 GB each)
  -h, --help                 Show this help

Environment:
  HIGGS_DATA_DIR     The per-user folder of step 2 and the log
  HIGGS_CUDA_ARCH    --cuda: the GPU architectures of the kernels, e.g. "8.9;9.0+PTX"
                     (default: this machine's GPUs as nvidia-smi names them, else 9.0)
`;

const SERVE = `Usage: higgs-audio serve [--host HOST] [--port PORT]

The local HTTP API server, shaped like RunPod's: run jobs with curl or with the npm runpod-sdk
client (baseUrl http://HOST:PORT/v2). Stops on Ctrl-C or SIGTERM.

Routes (also under /v2/ENDPOINT/..., where runpod-sdk calls them):
  POST /                  {"input": {...}}: waits and returns {id, status, output | error}
  POST /runsync[?wait=MS] the same, waiting at most MS (default 90000), then {id, status}
  POST /run               runs the job in the background: {id, status}
  GET  /status/ID         {id, status, delayTime, executionTime, output | error}
  GET  /status-sync/ID    waits for the job like /runsync
  GET  /stream/ID         {id, status, stream: [{output: part}, ...]} ("stream": true jobs)
  POST /cancel/ID         {id, status: "CANCELLED"}
  POST /purge-queue       drops queued jobs
  GET  /health            jobs, workers and the engine's health (no API key needed)
  GET  /metrics           Prometheus metrics (docs/metrics.md)
  GET  /                  the playground page, in a browser (HIGGS_PLAYGROUND=0: none)
  POST /v1/audio/speech   OpenAI's speech call (and /v1/models, /v1/audio/voices): docs/http-api.md
  WS   /v1/audio/speech/stream
                          text in as it is written, speech out sentence by sentence (docs/http-api.md)

Options:
      --host HOST   Address to listen on (default 127.0.0.1; 0.0.0.0 in a container)
      --port PORT   Port (default 8080; 0 picks a free one)
  -h, --help        Show this help

Environment (besides the common ones):
  HIGGS_API_KEY                 Require "Authorization: Bearer KEY" (or the raw KEY)
  HIGGS_RATE_LIMIT_PER_MINUTE   Requests a minute per key (per client address without one)
  HIGGS_SEND_TIMEOUT_MS         How long an answer or stream waits for a client that does not
                                read it, and a streamed job for a /stream poll, before the
                                connection closes and the generation is cancelled (default ${CONNECTION_LIMITS.sendTimeoutMs})
  HIGGS_METRICS_PUBLIC          1: GET /metrics needs no API key (for a scraper; default 0)
  HIGGS_PLAYGROUND              0: no playground page at GET / (default 1: a page in the browser
                                to try voices and settings, streaming as it plays)
${webSocketVariables()}

Example:
  curl -X POST http://localhost:8080 -H 'Content-Type: application/json' \\
       -d '{"input": {"transcript": "Hello there.", "ref_audio": "belinda"}}'
`;

/** The WebSocket's bounds, each with its default and range (lib/server/websocket-limits.ts). */
function webSocketVariables(): string {
  return Object.entries(WEBSOCKET_LIMIT_VARIABLES)
    .map(([name, { limit, minimum, maximum }]) => `  ${name.padEnd(30)}WebSocket ${limit} (default ${WEBSOCKET_LIMITS[limit]}; ${minimum} to ${maximum})`)
    .join('\n');
}

const WORKER = `Usage: higgs-audio worker [--test-input FILE]

The RunPod serverless worker. With RUNPOD_WEBHOOK_GET_JOB set (on RunPod) and no --test-input,
it takes jobs from the platform until SIGTERM. Otherwise it runs one local test job, as
runpod-python's --test_input does: FILE (or inline JSON) or ./test_input.json, shaped
{"input": {...}}, prints the result as one JSON line and exits 0 if it COMPLETED, 1 if it FAILED.
Either way it first runs its fitness checks (model, codec and voices directories, device, GPU
driver and memory, S3 and other settings): a failure logs one "fitness.failed" JSON line naming
the check and exits 1 before any job is taken.

Options:
      --test-input FILE   The test job (also --test_input; a value starting with { is JSON)
  -h, --help              Show this help
`;

const ENVIRONMENT = `Environment:
  HIGGS_MODEL_DIR        Model directory (default: the RunPod volume's
                         /runpod-volume/higgs_audio/bosonai/higgs-audio-v2-generation-3B-base,
                         else the one 'higgs-audio pull' put in the pull cache, else the
                         bundled tiny random model, whose audio is noise)
  HIGGS_CODEC_DIR        Audio codec directory (default: the RunPod volume's
                         .../bosonai/higgs-audio-v2-tokenizer, else the pull cache's, else
                         the bundled tiny codec)
  HIGGS_CACHE_DIR        The pull cache (default $XDG_CACHE_HOME/higgs-audio, else
                         ~/.cache/higgs-audio)
  HIGGS_VOICES_DIR       Voice directory (default: /runpod-volume/higgs_audio/voice_prompts
                         when present, else none)
  HIGGS_DEVICE           auto, cpu, cuda or cuda:N (default auto: a GPU when the build and the
                         machine have one, else cpu)
  HIGGS_DTYPE            float32, bfloat16 or float16 (default auto: bfloat16 on cuda; on cpu bfloat16 for a bf16
                         checkpoint with native CPU bf16 or when float32 would not fit, else float32)
  HIGGS_DECODE           auto (CUDA graphs on a GPU, eager on cpu), eager (host sampling),
                         static (state on the device) or graph (static steps as CUDA graphs)
  HIGGS_SLOTS            Generations the engine decodes together, each with its own KV cache
                         (default 0: the engine's choice: 4 on cpu; with eager decode on cuda
                         what free memory holds; 1 with static or graph decode, where more
                         batch the rows on the device)
  HIGGS_BATCHING         exact (default: each request computed as alone, same seed same
                         audio) or fast (one batched forward for all slots)
  HIGGS_WEIGHTS          dense (default: the projections in the dtype) or int8 (int8
                         weights, one scale per output channel, bf16 activations: about
                         half the memory of bfloat16; not bit-equal, quality unmeasured)
  HIGGS_MAX_CONCURRENCY  Requests generating at once (default: the engine's slots, once the
                         model is loaded; 1 with the GPU's graph decode)
  HIGGS_MAX_QUEUE        Requests (serve: jobs) waiting beyond those (default 16); more are
                         refused with E_BUSY (serve: HTTP 429)
  HIGGS_MAX_CONTEXT      KV-cache positions (default 8192)
  HIGGS_GPU_RELEASE_THRESHOLD_MB
                         Give cached GPU memory back when idle once it grew by more than
                         this (default 1024; 0 to 1048576)
  HIGGS_STREAM_PART_MS   Audio per streamed part after the first (default 500; 20 to 10000)
  HIGGS_S3_ALLOWED_ENDPOINTS
                         Hosts (host or host:port, comma-separated) a job's own s3Config
                         may upload to although they are loopback or private addresses
  HIGGS_REF_AUDIO_FETCH  1: the speech API fetches an http(s) ref_audio URL (public
                         addresses only, no redirects; default 0: refused)
  HIGGS_REF_AUDIO_ALLOWED_HOSTS
                         Hosts (host or host:port, comma-separated) a fetched ref_audio may
                         come from although they are loopback or private addresses
  HIGGS_DRAIN_TIMEOUT_MS worker: after SIGTERM, how long running jobs may finish before
                         they are failed and posted (default 8000)
  HIGGS_METRICS_LOG_S    worker: seconds between its {"event": "metrics"} log lines (the
                         figures of serve's GET /metrics; default 60, 0: none)
  HIGGS_LOG_LEVEL        trace, debug, info, warn, error, fatal or silent (default info)
  HIGGS_DEBUG=1          Print stack traces with errors
`;

const QUANTIZE = `Usage: higgs-audio quantize MODEL_DIR [--to DIR]

Quantize a model's LM weights to int8 once, instead of at every start with HIGGS_WEIGHTS=int8
(minutes for the 5.8 B parameters on a small CPU). The projections become int8 with one bf16
scale per output channel, exactly what HIGGS_WEIGHTS=int8 computes in memory; embeddings and
norms stay as stored. DIR becomes a complete model directory: MODEL_DIR's config.json,
generation_config.json and tokenizer files, model.int8.safetensors, and int8-manifest.json
naming the source checkpoint's fingerprint (written last). Prints DIR on stdout; progress goes
to stderr.

Load it with HIGGS_WEIGHTS=int8 HIGGS_MODEL_DIR=DIR; a directory without an int8 file is
quantized in memory (the load log says which). A quantized DIR is refused (E_MODEL_FORMAT)
with HIGGS_WEIGHTS=dense, and when its file and manifest do not belong together (stale or
foreign), its manifest is of another version, or its tensors do not match config.json.

Options:
      --to DIR        Where to write (default MODEL_DIR-int8, beside the source: in the pull
                      cache for a pulled model); an existing DIR must be empty or an earlier
                      quantize's output
  -h, --help          Show this help

Examples:
  higgs-audio quantize ~/.cache/higgs-audio/bosonai/higgs-audio-v2-generation-3B-base
  higgs-audio quantize /workspace/higgs_audio/bosonai/higgs-audio-v2-generation-3B-base --to /workspace/int8
`;

const OVERVIEW = `Usage: higgs-audio <command> [options]

Higgs Audio V2 text-to-speech from a C++ libtorch core.

Commands:
  speak      Synthesize speech to an audio file
  voices     List the preset voices and voice profiles
  pull       Download the model and codec from the Hugging Face Hub
  quantize   Save a model's int8 weights once (for HIGGS_WEIGHTS=int8)
  setup      Build the native addon on this machine (after npm install)
  serve      Local HTTP API server with RunPod's routes
  worker     RunPod serverless worker, or one local test job
  help [COMMAND]
             Show help for a command

Options:
  -h, --help     Show this help
  -v, --version  Print the version, and the addon's ABI, libtorch, CUDA and kernel archs

Examples:
  higgs-audio setup
  higgs-audio speak --text "The sun rises in the east." --out sun.wav
  higgs-audio speak --file story.txt --voice belinda --format mp3 --seed 7
  higgs-audio speak --text "Hello." --temperature 0.3 --top-k 20 --json --out hello.wav
  higgs-audio voices
  higgs-audio pull --to /workspace/higgs_audio

Exit status: 0 done, 1 error, 2 usage error, 130 interrupted.

${ENVIRONMENT}`;

const PAGES: Record<Command, string> = { speak: SPEAK, voices: VOICES, pull: PULL, quantize: QUANTIZE, setup: SETUP, serve: SERVE, worker: WORKER, help: OVERVIEW };

/** The help page of `command`, or the overview. */
export function usage(command?: Command): string {
  return command ? PAGES[command] : OVERVIEW;
}
