// Where the shared engine reports each mutation, inside the transaction that makes it: the place for
// a transactional outbox (an event feed writes its rows here, so an event exists iff its change does).
import type { PoolClient } from 'pg'
import type { ItemRecord } from '../record.js'
import type { RemovalReason } from '../store.js'
import type { SweepResult } from '../sweep.js'

export type Mutation =
  | { type: 'staged'; record: ItemRecord; replaced: boolean }
  | { type: 'status_changed'; record: ItemRecord; from: ItemRecord['status']; reason?: 'abandoned' }
  | { type: 'removed'; record: ItemRecord; reason: RemovalReason }
  | { type: 'swept'; result: SweepResult }

export interface MutationLog {
  /** Called inside the mutating transaction; throwing rolls the mutation back. */
  append(tx: PoolClient, mutations: Mutation[]): Promise<void>
}

export const noMutationLog: MutationLog = { append: async () => undefined }
