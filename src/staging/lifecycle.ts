// The status transition table of API.md: active → success | failed, failed → active, and a status to itself.
import { AppError } from '../errors.js'
import { iso } from './clock.js'
import type { ItemRecord, Status } from './record.js'

const ALLOWED: Record<Status, readonly Status[]> = {
  active: ['active', 'success', 'failed'],
  failed: ['failed', 'active'],
  success: ['success']
}

export function canTransition(from: Status, to: Status): boolean {
  return ALLOWED[from].includes(to)
}

export function assertTransition(from: Status, to: Status): void {
  if (!canTransition(from, to)) {
    throw new AppError('InvalidTransition', `status ${from} cannot change to ${to}`, { extra: { from, to } })
  }
}

/** The record after a status change (API.md): `failed` sets expires_at, `active` clears the error. */
export function statusChanged(current: ItemRecord, status: Status, nowMs: number, failedRetentionMs: number, error?: string | null): ItemRecord {
  return {
    ...current,
    status,
    updated_at: iso(nowMs),
    error: status === 'active' ? null : error !== undefined ? error : current.error,
    expires_at: status === 'failed' ? iso(nowMs + failedRetentionMs) : null
  }
}
