// Server-side moves from STAGING_LOCAL_IMPORT_DIR: only regular files reached without any symlink,
// taken in by link or copy, and unlinked from the import directory only once the item is committed.
import { constants } from 'node:fs'
import { lstat, open, realpath, unlink, type FileHandle } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { AppError } from '../errors.js'
import type { PullBody } from '../routes/schemas.js'
import { fsyncPath } from '../staging/durable-fs.js'
import { sanitiseFilename } from '../staging/filename.js'
import type { CommitResult, StagingEngine } from '../staging/engine.js'
import { typeFromName } from './response-naming.js'

function refuse(detail: string): AppError {
  return new AppError('SourceNotAllowed', detail)
}

export class LocalMover {
  constructor(
    private readonly engine: StagingEngine,
    private readonly importDir: string
  ) {}

  async pull(body: PullBody): Promise<CommitResult> {
    if (!this.importDir) throw refuse('local_upload moves are disabled: STAGING_LOCAL_IMPORT_DIR is not set')
    const path = await this.resolveInside(body.source_location)
    const expected = await lstat(path)
    // O_NOFOLLOW: a symlink swapped in after the checks is refused by the kernel (ELOOP).
    let handle: FileHandle
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
    } catch (err) {
      throw refuse(`${body.source_location} cannot be opened as a regular file (${(err as NodeJS.ErrnoException).code})`)
    }
    try {
      const opened = await handle.stat()
      if (!opened.isFile() || opened.ino !== expected.ino || opened.dev !== expected.dev) {
        throw refuse(`${body.source_location} changed while it was being checked`)
      }
      await this.engine.checkDeclared(opened.size)
      const given = body.filename ?? basename(path)
      const filename = sanitiseFilename(given)
      const draft = await this.engine.openDraft()
      try {
        await draft.adoptFile(handle, path, filename)
        const result = await this.engine.commit(draft, {
          source: 'local_upload',
          documentId: body.document_id,
          kind: 'document',
          contentType: typeFromName(filename),
          originalFilename: given,
          sourceLocation: path,
          overwrite: body.overwrite
        })
        await this.removeSource(path, opened.ino, opened.dev)
        return result
      } finally {
        await draft.discard()
      }
    } finally {
      await handle.close()
    }
  }

  /**
   * Resolves `location` (relative to the import directory, or absolute) and walks it component by
   * component with lstat: anything outside the directory, any symlink on the way, and anything but a
   * regular file at the end is refused.
   */
  private async resolveInside(location: string): Promise<string> {
    const root = await realpath(this.importDir).catch(() => {
      throw new AppError('StagingError', 'STAGING_LOCAL_IMPORT_DIR cannot be read')
    })
    const given = isAbsolute(location) ? resolve(location) : resolve(this.importDir, location)
    // Accept absolute paths spelled through the configured (possibly symlinked) directory name.
    const rel = [relative(resolve(this.importDir), given), relative(root, given)].find((r) => r !== '' && !r.startsWith('..') && !isAbsolute(r))
    if (rel === undefined || location.includes('\0')) throw refuse(`${location} is not inside the import directory`)
    let current = root
    const parts = rel.split(sep)
    for (const [i, part] of parts.entries()) {
      current = join(current, part)
      let info
      try {
        info = await lstat(current)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
          throw new AppError('ValidationError', `body.source_location: ${location} does not exist in the import directory`, {
            extra: { errors: [{ field: 'body.source_location', message: 'no such file in the import directory' }] }
          })
        }
        throw err
      }
      if (info.isSymbolicLink()) throw refuse(`${location} goes through a symbolic link`)
      const last = i === parts.length - 1
      if (last ? !info.isFile() : !info.isDirectory()) throw refuse(`${location} is not a regular file`)
    }
    return current
  }

  /** The move's last step, after the commit: only if the path still names the file that was staged. */
  private async removeSource(path: string, ino: number, dev: number): Promise<void> {
    try {
      const now = await lstat(path)
      if (now.ino !== ino || now.dev !== dev) return
      await unlink(path)
      await fsyncPath(dirname(path))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new AppError('StagingError', 'the item was staged but its source could not be removed', { cause: err })
    }
  }
}
