// Where the local engine's tree is, read from the environment without the configuration's schema:
// the start-up's head start (early-start.ts) takes the tree before zod and the rest of config.ts are
// even compiled (~0.1 s). config.ts takes the default from here and applies the same rules (trimmed,
// absolute); test/local-tree-dir.test.ts holds the two to the same answer.
export const DEFAULT_BASE_DIR = '/tmp/apex-staging'

/** STAGING_BASE_DIR as config.ts reads it; null when the engine is not local or config.ts would refuse the setting. */
export function localTreeDir(env: NodeJS.ProcessEnv): string | null {
  // As loadConfig: a variable set to '' is unset.
  const engine = env.STAGING_STORAGE || 'local'
  if (engine !== 'local') return null
  const dir = env.STAGING_BASE_DIR ? env.STAGING_BASE_DIR.trim() : DEFAULT_BASE_DIR
  return dir.startsWith('/') ? dir : null
}
