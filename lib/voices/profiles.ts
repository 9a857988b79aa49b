// profile.yaml: `profiles:` maps voice profile names to text descriptions (docs/model.md#voices).
import { parseDocument } from 'yaml';
import { HiggsError } from '../common/errors.js';
import { VOICE_NAME_PATTERN, quoteName } from './paths.js';
import { cleanText } from './transcript.js';

const invalid = (why: string): HiggsError => new HiggsError('E_INPUT', `invalid profile.yaml: ${why}`);

/**
 * The profiles of a profile.yaml text, name -> trimmed description. An empty file or one without
 * `profiles:` has none. Every entry is checked, so a bad file fails on every lookup, loudly.
 * @throws HiggsError E_INPUT naming the problem (YAML syntax with line and column, bad names, non-text values).
 */
export function parseProfiles(text: string, maxChars: number): Map<string, string> {
  const doc = parseDocument(text, { uniqueKeys: true });
  const first = doc.errors[0];
  if (first) throw invalid(`not valid YAML: ${first.message.split('\n')[0]}`);
  // Maps rather than objects: keys like "__proto__" stay plain data.
  let root: unknown;
  try {
    root = doc.toJS({ mapAsMap: true, maxAliasCount: 100 });
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : 'cannot be read');
  }
  const profiles = new Map<string, string>();
  if (root === null || root === undefined) return profiles;
  if (!(root instanceof Map)) throw invalid('the top level must be a mapping with a "profiles" key');
  const entries: unknown = root.get('profiles');
  if (entries === null || entries === undefined) return profiles;
  if (!(entries instanceof Map)) throw invalid('"profiles" must map profile names to descriptions');
  for (const [key, value] of entries) {
    if (typeof key !== 'string' || !VOICE_NAME_PATTERN.test(key)) {
      throw invalid(`profile name ${quoteName(typeof key === 'number' ? String(key) : key)} must be 1 to 64 letters, digits, '_' or '-'`);
    }
    if (typeof value !== 'string') throw invalid(`profile "${key}" must be a text description`);
    profiles.set(key, cleanText(value, maxChars, `invalid profile.yaml: profile "${key}" description`));
  }
  return profiles;
}
