// One PostgreSQL transaction on a pooled client: BEGIN, the work, COMMIT (ROLLBACK on any error).
// A deadlock or serialization failure is retried a few times, as PostgreSQL advises.
import type { Pool, PoolClient } from 'pg'

const RETRYABLE = new Set(['40001', '40P01'])

export async function inTransaction<T>(pool: Pool, work: (tx: PoolClient) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined)
      if (attempt < attempts && RETRYABLE.has((err as { code?: string }).code ?? '')) continue
      throw err
    } finally {
      client.release()
    }
  }
}
