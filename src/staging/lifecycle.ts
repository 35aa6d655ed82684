// The status transition table of API.md: active → success | failed, failed → active, and a status to itself.
import { AppError } from '../errors.js'
import type { Status } from './record.js'

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
