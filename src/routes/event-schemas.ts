// Zod shapes of GET /v1/events.
import { z } from 'zod'
import { cloudEventSchema } from '../events/cloud-event.js'

/** The longest a long-poll is held; a longer `wait` is refused, so clients learn the cap. */
export const MAX_WAIT_SECONDS = 60

export const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).meta({
    description: 'Answer events with a sequence greater than this: `0` (from the oldest retained), or the `next` of the previous answer',
    example: 0
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).meta({ description: 'At most this many events', example: 100 }),
  wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).default(0).meta({
    description: `When no event follows \`after\`, hold the request up to this many seconds (decimal, at most ${MAX_WAIT_SECONDS}) and answer as soon as one is durable; \`0\` answers at once. A closing service answers early with no events.`,
    example: 30
  })
})

export const eventsResponse = z
  .object({
    events: z.array(cloudEventSchema).meta({ description: 'In sequence order; each durable before the request that caused it was answered' }),
    next: z.number().int().nonnegative().meta({ description: 'Pass as `after` next time: the sequence of the last event here, or `after` when there were none', example: 42 })
  })
  .meta({ id: 'EventPage' })
