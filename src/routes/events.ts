// GET /v1/events: the durable event feed, read after a sequence, with long-polling.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { AppError } from '../errors.js'
import { sequenceOf } from '../events/cloud-event.js'
import type { StagingServices } from '../services.js'
import { eventsQuery, eventsResponse } from './event-schemas.js'
import { jsonResponse } from './responses.js'
import { problems } from './schemas.js'

export const eventRoutes: FastifyPluginAsyncZod<{ services: StagingServices }> = async (app, { services }) => {
  const feed = services.engine.events
  // Long-polls end at once when the app starts closing, so close() does not wait out their `wait`.
  app.addHook('preClose', async () => feed?.interrupt())

  app.get('/v1/events', {
    config: { access: 'ingest' },
    schema: {
      summary: 'Read the event feed (CloudEvents), long-polling for new events',
      operationId: 'listEvents',
      querystring: eventsQuery,
      response: { 200: jsonResponse('The events after `after`, in order', eventsResponse), ...problems(400, 401, 410, 503) }
    }
  }, async (request, reply) => {
    if (!feed) throw new AppError('Unavailable', `the ${services.engine.name} storage engine does not write events yet`)
    const { after, limit, wait } = request.query
    await feed.refresh()
    const gone = () => {
      if (after < feed.oldest - 1) {
        throw new AppError('EventsGone', `the events after ${after} were trimmed; the oldest retained sequence is ${feed.oldest}`, { extra: { oldest_sequence: feed.oldest } })
      }
    }
    gone()
    // A position past the newest event comes from another log (the tree was replaced): waiting would
    // hide that until the new log grew past it and then skip its first events.
    if (after > feed.head) {
      throw new AppError('EventsGone', `after ${after} is past the newest event ${feed.head}: this position is from another event log; start again from 0`, {
        extra: { oldest_sequence: feed.oldest, newest_sequence: feed.head }
      })
    }
    if (wait > 0 && feed.head <= after) {
      const left = new AbortController()
      const onClose = () => left.abort()
      reply.raw.once('close', onClose)
      try {
        await feed.waitFor(after, wait * 1000, left.signal)
      } finally {
        reply.raw.off('close', onClose)
      }
    }
    const events = await feed.read(after, limit)
    // Trimmed while reading or waiting: say so rather than skip silently.
    if (events.length > 0 && sequenceOf(events[0]!) > after + 1) gone()
    return { events, next: events.length > 0 ? sequenceOf(events.at(-1)!) : after }
  })
}
