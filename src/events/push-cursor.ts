// The push delivery cursor: the last sequence the receiver acknowledged. The local engine keeps it in
// a file in {base}/.events, written atomically (temp, fsync, rename, fsync dir) so a crash leaves the
// old or the new value, never half; the shared engine keeps it in a database row
// (src/staging/shared/push-lock.ts).
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { writeFileAtomic } from '../staging/durable-fs.js'

const cursorSchema = z.object({ delivered: z.number().int().nonnegative(), url_origin: z.string() })

/** Where EventPusher keeps its position; a cursor kept for another receiver origin reads as 0. */
export interface PushCursor {
  /** The last acknowledged sequence; 0 when none was kept (or for another receiver). */
  read(): Promise<number>
  write(delivered: number): Promise<void>
}

export class FilePushCursor implements PushCursor {
  constructor(
    private readonly path: string,
    private readonly tmpDir: string,
    /** A cursor kept for another receiver does not apply to this one: it starts over. */
    private readonly origin: string
  ) {}

  /** The last acknowledged sequence; 0 when none was kept (or for another receiver). */
  async read(): Promise<number> {
    let raw: string
    try {
      raw = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
      throw err
    }
    const parsed = cursorSchema.safeParse(JSON.parse(raw))
    return parsed.success && parsed.data.url_origin === this.origin ? parsed.data.delivered : 0
  }

  write(delivered: number): Promise<void> {
    return writeFileAtomic(this.path, JSON.stringify({ delivered, url_origin: this.origin }), this.tmpDir)
  }
}
