// The shared engine's schema, migrated at start with Kysely's Migrator (it takes a PostgreSQL
// advisory lock, so replicas starting together migrate once). Migrations are append-only.
import { Kysely, Migrator, PostgresDialect, sql, type Migration } from 'kysely'
import type { Pool } from 'pg'

const MIGRATIONS: Record<string, Migration> = {
  '0001_items_counters_reservations': {
    async up(db) {
      // COLLATE "C": keys sort byte-wise, as the local index sorts them, so cursors page the same.
      await sql`
        CREATE TABLE staging_items (
          source text COLLATE "C" NOT NULL,
          document_id text COLLATE "C" NOT NULL,
          status text NOT NULL,
          kind text NOT NULL,
          size_bytes bigint NOT NULL,
          updated_at timestamptz NOT NULL,
          expires_at timestamptz,
          object_key text NOT NULL UNIQUE,
          record jsonb NOT NULL,
          PRIMARY KEY (source, document_id)
        )`.execute(db)
      await sql`CREATE INDEX staging_items_by_status ON staging_items (status, source, document_id)`.execute(db)
      await sql`CREATE INDEX staging_items_failed_expiry ON staging_items (expires_at) WHERE status = 'failed'`.execute(db)
      await sql`CREATE INDEX staging_items_active_age ON staging_items (updated_at) WHERE status = 'active'`.execute(db)
      // Running totals per (source, status), changed in the same transaction as the items: O(1) stats.
      await sql`
        CREATE TABLE staging_counters (
          source text NOT NULL,
          status text NOT NULL,
          items bigint NOT NULL DEFAULT 0,
          bytes bigint NOT NULL DEFAULT 0,
          PRIMARY KEY (source, status)
        )`.execute(db)
      // Bytes held by writes in flight anywhere in the fleet; one row, locked to decide quota.
      await sql`
        CREATE TABLE staging_quota (
          id int PRIMARY KEY CHECK (id = 1),
          reserved_bytes bigint NOT NULL DEFAULT 0
        )`.execute(db)
      await sql`INSERT INTO staging_quota (id, reserved_bytes) VALUES (1, 0)`.execute(db)
      // One row per draft: its object key (so the orphan sweep spares it) and its lease.
      await sql`
        CREATE TABLE staging_reservations (
          id uuid PRIMARY KEY,
          object_key text NOT NULL,
          bytes bigint NOT NULL DEFAULT 0,
          lease_until timestamptz NOT NULL
        )`.execute(db)
      await sql`CREATE INDEX staging_reservations_object ON staging_reservations (object_key)`.execute(db)
    }
  },
  '0002_event_outbox': {
    async up(db) {
      // The last sequence handed out; one row, updated in every mutating transaction, so its row lock
      // makes commits happen in sequence order: a reader never finds a smaller sequence appear later.
      await sql`
        CREATE TABLE staging_event_seq (
          id int PRIMARY KEY CHECK (id = 1),
          last bigint NOT NULL DEFAULT 0
        )`.execute(db)
      await sql`INSERT INTO staging_event_seq (id, last) VALUES (1, 0)`.execute(db)
      // The outbox: each event written in the transaction of its change.
      await sql`
        CREATE TABLE staging_events (
          seq bigint PRIMARY KEY,
          event jsonb NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db)
      await sql`CREATE INDEX staging_events_age ON staging_events (created_at)`.execute(db)
    }
  },
  '0003_push_cursor': {
    async up(db) {
      // The fleet's push position: the last sequence the receiver at url_origin acknowledged. One row,
      // written only by the replica holding the push advisory lock, through the lock's own connection.
      await sql`
        CREATE TABLE staging_push_cursor (
          id int PRIMARY KEY CHECK (id = 1),
          delivered bigint NOT NULL DEFAULT 0,
          url_origin text NOT NULL DEFAULT '',
          updated_at timestamptz NOT NULL DEFAULT now()
        )`.execute(db)
      await sql`INSERT INTO staging_push_cursor (id) VALUES (1)`.execute(db)
    }
  }
}

/** Brings the schema up to date; throws with the failing migration's error. */
export async function migrateToLatest(pool: Pool): Promise<string[]> {
  // The Kysely instance only runs the migrator; it is not destroyed, as that would end the shared pool.
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) })
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableName: 'staging_migrations',
    migrationLockTableName: 'staging_migrations_lock'
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
