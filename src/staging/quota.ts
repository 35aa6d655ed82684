// Quota accounting: committed bytes come from the index, in-flight bytes from reservations,
// so concurrent writes cannot together overshoot the quota.
import { AppError } from '../errors.js'

export interface QuotaLimits {
  maxTotalBytes: number
  maxDocumentBytes: number
}

export class Reservation {
  private held = 0
  private released = false

  constructor(private readonly ledger: QuotaLedger) {}

  get bytes(): number {
    return this.held
  }

  /** Claims `n` more bytes for this item; throws PayloadTooLarge or QuotaExceeded. */
  grow(n: number): void {
    if (this.released) throw new Error('reservation already released')
    this.ledger.claim(this.held, n)
    this.held += n
  }

  release(): void {
    if (this.released) return
    this.released = true
    this.ledger.free(this.held)
    this.held = 0
  }
}

export class QuotaLedger {
  private inFlight = 0

  constructor(
    readonly limits: QuotaLimits,
    private readonly committedBytes: () => number
  ) {}

  get reservedBytes(): number {
    return this.inFlight
  }

  reserve(): Reservation {
    return new Reservation(this)
  }

  /** Refuses up front when a declared size cannot fit. */
  checkDeclared(bytes: number): void {
    this.check(0, bytes)
  }

  claim(alreadyHeld: number, n: number): void {
    this.check(alreadyHeld, n)
    this.inFlight += n
  }

  free(n: number): void {
    this.inFlight -= n
  }

  private check(alreadyHeld: number, n: number): void {
    const { maxDocumentBytes, maxTotalBytes } = this.limits
    if (alreadyHeld + n > maxDocumentBytes) {
      throw new AppError('PayloadTooLarge', `the item is larger than the cap of ${maxDocumentBytes} bytes`, {
        extra: { max_bytes: maxDocumentBytes }
      })
    }
    const used = this.committedBytes() + this.inFlight
    if (used + n > maxTotalBytes) {
      throw new AppError('QuotaExceeded', `staging ${n} more bytes would exceed the quota of ${maxTotalBytes} bytes (${used} in use)`, {
        extra: { max_bytes: maxTotalBytes, used_bytes: used }
      })
    }
  }
}
