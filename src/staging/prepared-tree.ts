// A head start for the local engine's load, begun by the process entry (src/server.ts) before the
// rest of the service is even imported: it takes the tree's lock, clears leftovers in .tmp, lists
// the items and sets the metadata readers going (startTreeLoad). Compiling the service's modules and
// building the app keep this thread busy for half a second at every start; meanwhile the readers
// read the tree on the other cores, and the store's init (store.ts) finds their texts waiting.
//
// Nothing else may change the tree once the lock is held, so what the readers read stays true. A
// tree with an index snapshot is left to the store: the snapshot loads without reading the tree.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { SNAPSHOT_FILE } from './filename.js'
import { prepareTemp, startTreeLoad, type LoadOptions, type StartedLoad } from './tree-listing.js'
import { TreeLock } from './tree-lock.js'

export class PreparedTree {
  private taken = false

  private constructor(
    readonly baseDir: string,
    private readonly lock: TreeLock,
    private readonly load: StartedLoad | null
  ) {}

  /** Takes the tree (TreeLockedError when another process holds it) and starts reading it. */
  static async prepare(baseDir: string, options: LoadOptions = {}): Promise<PreparedTree> {
    const lock = await TreeLock.acquire(baseDir)
    try {
      await prepareTemp(baseDir)
      const load = existsSync(join(baseDir, SNAPSHOT_FILE)) ? null : startTreeLoad(baseDir, options)
      return new PreparedTree(baseDir, lock, load)
    } catch (err) {
      await lock.release()
      throw err
    }
  }

  /** Hands the lock and the load under way (null: a snapshot is there) to their new owner, once; null after that. */
  take(): { lock: TreeLock; load: StartedLoad | null } | null {
    if (this.taken) return null
    this.taken = true
    return { lock: this.lock, load: this.load }
  }

  /** Gives the tree up unused: the readers stop and the lock goes (a no-op once taken). */
  async release(): Promise<void> {
    const own = this.take()
    if (!own) return
    own.load?.reading.cancel()
    await own.lock.release()
  }
}
