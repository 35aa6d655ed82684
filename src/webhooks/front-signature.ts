// Front webhook signatures: rule webhooks (HMAC-SHA1 of the body) and application webhooks
// (HMAC-SHA256 of "timestamp:" + body, fresh within 5 minutes), compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto'

/** Front refuses nothing older or newer than this; neither do we. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000

export interface FrontSecrets {
  /** Rule-webhook secret (the company API secret); '' when not configured. */
  apiSecret: string
  /** Application-webhook signing key; '' when not configured. */
  appSecret: string
}

export interface SignedDelivery {
  raw: Buffer
  signature: string | undefined
  timestamp: string | undefined
}

export type Verdict =
  | { ok: true; kind: 'rule' | 'application' }
  | { ok: false; reason: 'unsigned' | 'bad_signature' | 'stale_timestamp' | 'not_configured' }

export function ruleSignature(raw: Buffer, secret: string): string {
  return createHmac('sha1', secret).update(raw).digest('base64')
}

export function applicationSignature(raw: Buffer, timestamp: string, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}:`).update(raw).digest('base64')
}

/**
 * Equal-length buffers through timingSafeEqual. Signature lengths are fixed by the algorithm, so a
 * length mismatch reveals nothing about the secret.
 */
export function signaturesMatch(presented: string, expected: string): boolean {
  const a = Buffer.from(presented, 'utf8')
  const b = Buffer.from(expected, 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * A delivery is accepted when it carries a valid application signature with a fresh timestamp, or a
 * valid rule signature. A timestamp header alone does not decide the kind: a rule webhook with a
 * stray timestamp header still verifies, and a SHA-256 signature can never pass as a SHA-1 one.
 */
export function verifyDelivery(delivery: SignedDelivery, secrets: FrontSecrets, nowMs: number): Verdict {
  if (!secrets.apiSecret && !secrets.appSecret) return { ok: false, reason: 'not_configured' }
  const signature = delivery.signature?.trim()
  if (!signature) return { ok: false, reason: 'unsigned' }

  const timestamp = delivery.timestamp?.trim()
  if (secrets.appSecret && timestamp) {
    if (signaturesMatch(signature, applicationSignature(delivery.raw, timestamp, secrets.appSecret))) {
      const at = /^\d{1,16}$/.test(timestamp) ? Number(timestamp) : Number.NaN
      if (!Number.isFinite(at) || Math.abs(nowMs - at) > MAX_CLOCK_SKEW_MS) return { ok: false, reason: 'stale_timestamp' }
      return { ok: true, kind: 'application' }
    }
  }
  if (secrets.apiSecret && signaturesMatch(signature, ruleSignature(delivery.raw, secrets.apiSecret))) {
    return { ok: true, kind: 'rule' }
  }
  return { ok: false, reason: 'bad_signature' }
}
