// Standard Webhooks signing (the `standardwebhooks` package): webhook-id, webhook-timestamp and
// webhook-signature = v1,base64(HMAC-SHA256(secret, `${id}.${timestamp}.${body}`)).
import { Webhook } from 'standardwebhooks'

export class WebhookSigner {
  private readonly webhook: Webhook

  constructor(secret: string) {
    this.webhook = new Webhook(secret)
  }

  headers(id: string, body: string, at: Date): Record<string, string> {
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': this.webhook.sign(id, at, body)
    }
  }
}
