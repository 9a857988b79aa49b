/** The CLI's help texts: one overview and one page per command. */

export const COMMANDS = ['speak', 'voices', 'serve', 'worker', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

const SPEAK = `Usage: higgs-audio speak (--text TEXT | --file FILE) [options]

Synthesize speech and write it to an audio file. Prints the file's path, then its duration and
the timings; progress goes to stderr.

Options:
  -t, --text TEXT     The text to speak
  -f, --file FILE     Read the text from FILE (UTF-8; '-' reads standard input)
      --voice VOICE   A preset voice NAME (NAME.wav + NAME.txt in HIGGS_VOICES_DIR)
                      or profile:NAME (a description in HIGGS_VOICES_DIR/profile.yaml);
                      default: the model chooses a voice
  -o, --out FILE      Output file (default ./higgs-audio.<format>)
      --format FMT    wav, flac, mp3 or opus (default: from --out's extension, else wav)
      --seed N        Sampling seed, 0 to 4294967295 (default: random, printed)
      --scene TEXT    Scene description, e.g. "Audio is recorded from a quiet room."
  -h, --help          Show this help
`;

const VOICES = `Usage: higgs-audio voices

List the voices of HIGGS_VOICES_DIR, one per line: preset names first, then profiles as
profile:NAME. Every line is a valid --voice value for 'higgs-audio speak'.
`;

const SERVE = `Usage: higgs-audio serve

The local HTTP API server. It comes with the RunPod worker and is not available yet.
`;

const WORKER = `Usage: higgs-audio worker

The RunPod serverless worker. It comes with the RunPod worker and is not available yet.
`;

const ENVIRONMENT = `Environment:
  HIGGS_MODEL_DIR        Model directory (default: the RunPod volume's
                         /runpod-volume/higgs_audio/bosonai/higgs-audio-v2-generation-3B-base,
                         else the bundled tiny random model, whose audio is noise)
  HIGGS_CODEC_DIR        Audio codec directory (default: the RunPod volume's
                         .../bosonai/higgs-audio-v2-tokenizer, else the bundled tiny codec)
  HIGGS_VOICES_DIR       Voice directory (default: /runpod-volume/higgs_audio/voice_prompts
                         when present, else none)
  HIGGS_DEVICE           auto, cpu, cuda or cuda:N (default auto: cpu for now)
  HIGGS_DTYPE            float32, bfloat16 or float16 (default float32 on cpu, bfloat16 on cuda)
  HIGGS_MAX_CONCURRENCY  Requests generating at once (default 1 on cpu, 4 on cuda)
  HIGGS_MAX_QUEUE        Requests waiting beyond those (default 16)
  HIGGS_MAX_CONTEXT      KV-cache positions (default 8192)
  HIGGS_LOG_LEVEL        trace, debug, info, warn, error, fatal or silent (default info)
  HIGGS_DEBUG=1          Print stack traces with errors
`;

const OVERVIEW = `Usage: higgs-audio <command> [options]

Higgs Audio V2 text-to-speech from a C++ libtorch core.

Commands:
  speak      Synthesize speech to an audio file
  voices     List the preset voices and voice profiles
  serve      Local HTTP API server (comes with the RunPod worker)
  worker     RunPod serverless worker (comes with the RunPod worker)
  help [COMMAND]
             Show help for a command

Options:
  -h, --help     Show this help
  -v, --version  Print the version

Examples:
  higgs-audio speak --text "The sun rises in the east." --out sun.wav
  higgs-audio speak --file story.txt --voice belinda --format mp3 --seed 7
  higgs-audio voices

Exit status: 0 done, 1 error, 2 usage error, 130 interrupted.

${ENVIRONMENT}`;

const PAGES: Record<Command, string> = { speak: SPEAK, voices: VOICES, serve: SERVE, worker: WORKER, help: OVERVIEW };

/** The help page of `command`, or the overview. */
export function usage(command?: Command): string {
  return command ? PAGES[command] : OVERVIEW;
}

export function isCommand(word: string): word is Command {
  return (COMMANDS as readonly string[]).includes(word);
}
