/**
 * Finds and loads the native addon (higgs_audio.node). If it cannot be loaded, one error lists
 * every path tried, why each failed, and how to build it. What the addon exports is typed in
 * lib/native/addon-types.ts.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NativeBinding } from './addon-types.js';
import { HiggsError } from '../common/errors.js';
import { packageRoot } from '../common/package-root.js';

export type * from './addon-types.js';

/** The addon ABI this library is written for (native/binding/convert.cc, kAbiVersion). */
export const EXPECTED_ABI = 13;

/** Where the addon is looked for, in order. HIGGS_AUDIO_ADDON overrides everything. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.HIGGS_AUDIO_ADDON) return [resolve(env.HIGGS_AUDIO_ADDON)];
  const root = packageRoot();
  return [
    join(root, 'build', 'Release', 'higgs_audio.node'), // npm run build:native
    join(root, 'build', 'cmake', 'Release', 'higgs_audio.node'), // npx node-gyp rebuild (binding.gyp)
    join(root, 'build', 'Debug', 'higgs_audio.node'),
  ];
}

let cached: NativeBinding | undefined;

/** Loads the addon once; throws HiggsError E_NATIVE_MISSING with every reason if it cannot. */
export function loadNative(candidates?: string[]): NativeBinding {
  if (!candidates && cached) return cached;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of candidates ?? addonCandidates()) {
    if (!existsSync(path)) {
      failures.push(`${path}: not found`);
      continue;
    }
    try {
      const binding = require(path) as NativeBinding;
      // Addons before ABI 3 exported the version alone, as abiVersion.
      const abi = binding.constants?.abiVersion ?? (binding as { abiVersion?: number }).abiVersion;
      if (abi !== EXPECTED_ABI) {
        failures.push(`${path}: built for addon ABI ${abi ?? 'unknown'}, this library needs ${EXPECTED_ABI} (rebuild it)`);
        continue;
      }
      if (!candidates) cached = binding;
      return binding;
    } catch (error) {
      failures.push(`${path}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new HiggsError(
    'E_NATIVE_MISSING',
    [
      'The higgs-audio native addon could not be loaded. Tried:',
      ...failures.map((f) => `  - ${f}`),
      'To build it, run `npx higgs-audio setup`: it installs what the build needs (Debian packages,',
      'torch from pip into a per-user folder), builds the addon and says where everything went.',
      'In a source checkout `npm run bootstrap` does the same for the tests. Set HIGGS_AUDIO_ADDON',
      'to load a .node from another path. An "undefined symbol" or "cannot open shared object" error',
      'above means the addon was built against another libtorch than the one found at run time:',
      'run `npx higgs-audio setup` again.',
    ].join('\n'),
  );
}
