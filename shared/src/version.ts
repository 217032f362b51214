/**
 * The release version of both tools. Kept equal to every package.json's `version` by
 * test/release.test.ts, and stamped into the release artifact's name by scripts/release.mjs, so
 * `--version` names the artifact it came from (the single-file bundle has no package.json to read).
 */
export const VERSION = '0.1.0';
