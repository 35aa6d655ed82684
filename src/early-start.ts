// How a process runs the service (src/server.ts, `apex-staging serve`): the local tree is taken and
// its reading begun (src/staging/prepared-tree.ts) before the service's modules are imported, so the
// reader threads read the tree while this thread loads and builds the rest.
import { loadConfig } from './config.js'
import { PreparedTree } from './staging/prepared-tree.js'

/** Runs the service in this process; see runServer for the exit codes. */
export async function serveWithHeadStart(env: NodeJS.ProcessEnv): Promise<void> {
  const early = prepareTreeEarly(env)
  // Until the readers are going: importing the service keeps this thread busy for ~0.3 s, and the
  // prepare's own steps would wait for it.
  await early.catch(() => null)
  const { runServer } = await import('./serve.js')
  await runServer(env, early)
}

/**
 * The configured local tree, taken and being read; null under the shared engine, or when the settings
 * are bad (runServer reads them again and says why). A failure (TreeLockedError: another process holds
 * the tree) is runServer's to report once it awaits the promise, so it never counts as unhandled.
 */
function prepareTreeEarly(env: NodeJS.ProcessEnv): Promise<PreparedTree | null> {
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
