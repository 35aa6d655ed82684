// One push deliverer per fleet, decided by PostgreSQL: the replica whose dedicated connection holds
// the session-level advisory lock delivers; PostgreSQL releases it when that connection or process
// dies, and a standby's next try takes it. The cursor row is written through the same connection, so
// a replica that lost the lock can no longer move the fleet's cursor.
import pg from 'pg'
import type { Leadership } from '../../events/fleet-pusher.js'
import type { PushCursor } from '../../events/push-cursor.js'

/** pg_try_advisory_lock key of push delivery ("apexpsh" in ASCII). */
const PUSH_LOCK = 0x61706578707368n

/** A connection's query timeout, and how often the holder checks its connection is still there. */
const CHECK_TIMEOUT_MS = 5000

interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>
}

/** The push cursor as a row of staging_push_cursor (migration 0003). */
export class DatabasePushCursor implements PushCursor {
  constructor(
    private readonly db: Queryable,
    /** A cursor kept for another receiver does not apply to this one: it starts over. */
    private readonly origin: string
  ) {}

  async read(): Promise<number> {
    const { rows } = await this.db.query<{ delivered: string; url_origin: string }>('SELECT delivered, url_origin FROM staging_push_cursor WHERE id = 1')
    const row = rows[0]
    return row && row.url_origin === this.origin ? Number(row.delivered) : 0
  }

  async write(delivered: number): Promise<void> {
    await this.db.query('UPDATE staging_push_cursor SET delivered = $1, url_origin = $2, updated_at = now() WHERE id = 1', [delivered, this.origin])
  }
}

export interface PushLockOptions {
  databaseUrl: string
  /** The engine's pool: standbys read the cursor through it. */
  pool: pg.Pool
  /** The receiver's origin (the cursor's owner). */
  origin: string
  /** How often the holder checks its connection (a lost one ends its delivery). */
  checkMs: number
}

/** A dedicated connection and whether it failed (its session, and any lock it held, is gone). */
interface LockConnection {
  client: pg.Client
  lost: AbortController
}

export class PushLock {
  /** A standby keeps its connection between tries; the holder's is ended when it gives the lock up. */
  private connection: LockConnection | null = null

  constructor(private readonly options: PushLockOptions) {}

  /** The fleet's cursor as a standby sees it (its metrics report the same position as the deliverer). */
  readCursor(): Promise<number> {
    return new DatabasePushCursor(this.options.pool, this.options.origin).read()
  }

  /** One try for the lock on this replica's dedicated connection; null while another replica holds it. */
  async tryLead(): Promise<Leadership | null> {
    const connection = await this.connect()
    const { client, lost } = connection
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [PUSH_LOCK.toString()])
      if (!rows[0]?.locked) return null
    } catch (err) {
      await this.close()
      throw err
    }
    // The holder checks its connection, so it stops delivering (within a check and its timeout) before
    // the server could drop its session and let another replica take over.
    const check = setInterval(() => {
      client.query('SELECT 1').catch(() => lost.abort())
    }, this.options.checkMs)
    check.unref()
    return {
      cursor: new DatabasePushCursor(client, this.options.origin),
      lost: lost.signal,
      release: async () => {
        clearInterval(check)
        // Ending the session releases the lock; the next try opens a fresh connection.
        await this.close()
      }
    }
  }

  /** Ends the dedicated connection (and with it the lock, if held). */
  async close(): Promise<void> {
    const connection = this.connection
    this.connection = null
    await connection?.client.end().catch(() => undefined)
  }

  private async connect(): Promise<LockConnection> {
    if (this.connection && !this.connection.lost.signal.aborted) return this.connection
    await this.close()
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: 'apex-staging push',
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
      query_timeout: CHECK_TIMEOUT_MS
    })
    const lost = new AbortController()
    // Listening to 'error' also keeps a failed idle connection from crashing the process.
    client.on('error', () => lost.abort())
    client.on('end', () => lost.abort())
    try {
      await client.connect()
      // The server notices a silently vanished holder (a network cut, not only a closed socket)
      // within about 20 s and drops its session, and with it the lock.
      await client.query('SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3')
    } catch (err) {
      await client.end().catch(() => undefined)
      throw err
    }
    this.connection = { client, lost }
    return this.connection
  }
}
