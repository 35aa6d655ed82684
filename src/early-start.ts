// What a process that runs the service starts before it imports the service's modules (src/server.ts,
// `apex-staging serve`): the local tree's lock and load (src/staging/prepared-tree.ts).
import { loadConfig } from './config.js'
import { PreparedTree } from './staging/prepared-tree.js'

/**
 * The configured local tree, taken and being read; null under the shared engine, or when the settings
 * are bad (runServer reads them again and says why). A failure (TreeLockedError: another process holds
 * the tree) is runServer's to report once it awaits the promise, so it never counts as unhandled.
 */
export function prepareTreeEarly(env: NodeJS.ProcessEnv): Promise<PreparedTree | null> {
  let baseDir: string
  try {
    const config = loadConfig(env)
    if (config.storage.engine !== 'local') return Promise.resolve(null)
    baseDir = config.baseDir
  } catch {
    return Promise.resolve(null)
  }
  const prepared = PreparedTree.prepare(baseDir)
  prepared.catch(() => undefined)
  return prepared
}
