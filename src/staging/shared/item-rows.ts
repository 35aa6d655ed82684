// The staging_items table: one row per committed item, the full record as jsonb beside the columns
// that queries filter and sort on. The primary key (source, document_id) is what decides 201/200/409.
import type { Pool, PoolClient } from 'pg'
import type { ItemPage, ListFilter } from '../engine.js'
import { itemKey, type ItemRecord, type Source } from '../record.js'

export interface ItemRow {
  record: ItemRecord
  objectKey: string
}

type Db = Pool | PoolClient

const COLUMNS = 'record, object_key'

function toRow(row: { record: ItemRecord; object_key: string }): ItemRow {
  return { record: row.record, objectKey: row.object_key }
}

export async function selectItem(db: Db, source: Source, documentId: string): Promise<ItemRow | undefined> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM staging_items WHERE source = $1 AND document_id = $2`, [source, documentId])
  return rows[0] ? toRow(rows[0]) : undefined
}

/** The row, locked until the transaction ends (other replicas' changes to it wait). */
export async function lockItem(tx: PoolClient, source: Source, documentId: string): Promise<ItemRow | undefined> {
  const { rows } = await tx.query(`SELECT ${COLUMNS} FROM staging_items WHERE source = $1 AND document_id = $2 FOR UPDATE`, [source, documentId])
  return rows[0] ? toRow(rows[0]) : undefined
}

const values = (r: ItemRecord, objectKey: string) => [r.source, r.document_id, r.status, r.kind, r.file_size_bytes, r.updated_at, r.expires_at, objectKey, JSON.stringify(r)]

/** Inserts a new item; false when the key exists (another request or replica got there first). */
export async function insertItem(tx: PoolClient, record: ItemRecord, objectKey: string): Promise<boolean> {
  const res = await tx.query(
    `INSERT INTO staging_items (source, document_id, status, kind, size_bytes, updated_at, expires_at, object_key, record)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (source, document_id) DO NOTHING`,
    values(record, objectKey)
  )
  return res.rowCount === 1
}

export async function updateItem(tx: PoolClient, record: ItemRecord, objectKey: string): Promise<void> {
  await tx.query(
    `UPDATE staging_items SET status = $3, kind = $4, size_bytes = $5, updated_at = $6, expires_at = $7, object_key = $8, record = $9
     WHERE source = $1 AND document_id = $2`,
    values(record, objectKey)
  )
}

export async function deleteItem(tx: PoolClient, source: Source, documentId: string): Promise<void> {
  await tx.query('DELETE FROM staging_items WHERE source = $1 AND document_id = $2', [source, documentId])
}

/** Keyset paging in (source, document_id) order, which is the local index's `source/id` order. */
export async function listItems(db: Db, filter: ListFilter, limit: number, afterKey?: string): Promise<ItemPage> {
  const [afterSource, ...rest] = afterKey === undefined ? ['', ''] : afterKey.split('/')
  const { rows } = await db.query<{ record: ItemRecord }>(
    `SELECT record FROM staging_items
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR source = $2) AND ($3::text IS NULL OR kind = $3)
       AND (source, document_id) > ($4::text COLLATE "C", $5::text COLLATE "C")
     ORDER BY source, document_id LIMIT $6`,
    [filter.status ?? null, filter.source ?? null, filter.kind ?? null, afterSource, rest.join('/'), limit + 1]
  )
  const items = rows.slice(0, limit).map((r) => r.record)
  const last = items[items.length - 1]
  return { items, nextKey: rows.length > limit && last ? itemKey(last.source, last.document_id) : null }
}
