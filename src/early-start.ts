// How a process runs the service (src/server.ts, `apex-staging serve`): the local tree is taken and
// its reading begun (src/staging/prepared-tree.ts) before the service's modules are imported, so the
// reader threads read the tree while this thread loads and builds the rest.
import { localTreeDir } from './local-tree-dir.js'
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
 * The configured local tree, taken and being read; null under the shared engine, or when the base
 * directory is not one the configuration accepts (runServer reads the settings and says why). Should
 * another setting be bad, runServer gives the tree back before it exits. A failure (TreeLockedError:
 * another process holds the tree) is runServer's to report once it awaits the promise, so it never
 * counts as unhandled.
 */
function prepareTreeEarly(env: NodeJS.ProcessEnv): Promise<PreparedTree | null> {
  const baseDir = localTreeDir(env)
  if (baseDir === null) return Promise.resolve(null)
  const prepared = PreparedTree.prepare(baseDir)
  prepared.catch(() => undefined)
  return prepared
}
