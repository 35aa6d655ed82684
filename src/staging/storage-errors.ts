// The one mapping from a failed filesystem step to a catalogue error: a full disk or quota is a
// retryable 507 InsufficientStorage, any other I/O failure a 500 StagingError.
import { AppError, isAppError } from '../errors.js'

const FULL = new Set(['ENOSPC', 'EDQUOT'])

export function isDiskFull(err: unknown): boolean {
  return FULL.has((err as NodeJS.ErrnoException | null)?.code ?? '')
}

/** Catalogue errors pass through; `detail` says what was being done. */
export function storageError(err: unknown, detail: string): AppError {
  if (isAppError(err)) return err
  if (isDiskFull(err)) return new AppError('InsufficientStorage', `${detail}: the staging filesystem is full`, { cause: err })
  return new AppError('StagingError', detail, { cause: err })
}

/** A filesystem call's failure (it names its syscall), as opposed to a failing body stream. */
export function isFsError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException | null)?.syscall === 'string'
}
