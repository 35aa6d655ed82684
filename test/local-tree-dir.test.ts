// The head start reads STAGING_BASE_DIR without the configuration's schema (local-tree-dir.ts); it
// must name the very directory loadConfig does, or none where loadConfig refuses the setting or the
// engine is not local.
import t from 'tap'
import { loadConfig } from '../src/config.js'
import { DEFAULT_BASE_DIR, localTreeDir } from '../src/local-tree-dir.js'

t.test('the head start names the base directory loadConfig does, or none', async (t) => {
  const cases: Record<string, string | undefined>[] = [
    {},
    { STAGING_BASE_DIR: '/srv/staging' },
    { STAGING_BASE_DIR: '  /srv/with spaces/staging  ' },
    { STAGING_BASE_DIR: '/srv/ünïcode ✓' },
    { STAGING_BASE_DIR: 'relative/staging' },
    { STAGING_BASE_DIR: '' },
    { STAGING_BASE_DIR: '   ' },
    { STAGING_STORAGE: 'local', STAGING_BASE_DIR: '/srv/local' },
    { STAGING_STORAGE: 'shared', STAGING_BASE_DIR: '/srv/shared', DATABASE_URL: 'postgres://127.0.0.1/test', S3_BUCKET: 'b' },
    { STAGING_STORAGE: 'elsewhere', STAGING_BASE_DIR: '/srv/elsewhere' },
    { STAGING_STORAGE: '', STAGING_BASE_DIR: '/srv/empty-engine' }
  ]
  for (const env of cases) {
    let expected: string | null
    try {
      const config = loadConfig({ LOG_LEVEL: 'silent', ...env })
      expected = config.storage.engine === 'local' ? config.baseDir : null
    } catch {
      // The head start may still take a tree whose base directory is good when another setting is bad
      // (the process gives it back before it exits); where the base directory itself is bad, none.
      let baseDirGood = true
      try {
        loadConfig({ LOG_LEVEL: 'silent', STAGING_BASE_DIR: env.STAGING_BASE_DIR })
      } catch {
        baseDirGood = false
      }
      expected = baseDirGood && (env.STAGING_STORAGE || 'local') === 'local' ? env.STAGING_BASE_DIR?.trim() || DEFAULT_BASE_DIR : null
    }
    t.equal(localTreeDir(env), expected, JSON.stringify(env))
  }
  t.equal(localTreeDir({}), loadConfig({ LOG_LEVEL: 'silent' }).baseDir, 'the default is the configuration default')
})
