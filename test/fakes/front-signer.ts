// Plays Front's side of a webhook: signs bodies the way Front documents it, independently of src/.
import { createHmac } from 'node:crypto'

export const API_SECRET = 'front-rule-secret-0123456789'
export const APP_SECRET = 'front-app-signing-key-abcdef'

/** Rule webhook: base64 HMAC-SHA1 of the raw body with the API secret. */
export function signRule(body: string | Buffer, secret = API_SECRET): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-front-signature': createHmac('sha1', secret).update(body).digest('base64')
  }
}

/** Application webhook: base64 HMAC-SHA256 of "<timestamp ms>:" + raw body with the app key. */
export function signApplication(body: string | Buffer, timestampMs: number, secret = APP_SECRET): Record<string, string> {
  const timestamp = String(timestampMs)
  return {
    'content-type': 'application/json',
    'x-front-request-timestamp': timestamp,
    'x-front-signature': createHmac('sha256', secret).update(`${timestamp}:`).update(body).digest('base64')
  }
}

export function ruleEvent(id: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    _links: { self: `https://api2.frontapp.com/events/${id}` },
    id,
    type: 'inbound',
    emitted_at: 1767609000.123,
    conversation: { id: 'cnv_55c8c149', subject: 'Invoice 2026-01' },
    source: { _meta: { type: 'inboxes' }, data: [{ id: 'inb_55c8c149' }] },
    target: { _meta: { type: 'message' }, data: { id: 'msg_55c8c149' } },
    ...extra
  })
}

export function applicationEvent(id: string): string {
  return JSON.stringify({
    type: 'inbound_received',
    authorization: { id: 'cmp_123' },
    payload: { id, type: 'inbound', emitted_at: 1767609000.123, conversation: { id: 'cnv_1' } }
  })
}

export const CHALLENGE_BODY = JSON.stringify({ type: 'sync', authorization: { id: 'cmp_123' } })
