// An event is read only once its change can be seen: a commit's `staged` event is durable before the
// item is in the index, so the log holds it (and every later event) back until the store says so.
import t from 'tap'
import { EventLog } from '../../src/events/event-log.js'
import { sequenceOf } from '../../src/events/cloud-event.js'
import { buildTestApp, tempDir, upload } from '../helper.js'
import { eventPage } from './feed-client.js'

const MB = 1024 * 1024

async function openLog(t: Parameters<typeof tempDir>[0]): Promise<EventLog> {
  const log = new EventLog({ dir: await tempDir(t), segmentBytes: MB, maxBytes: 4 * MB, maxAgeMs: 3_600_000 })
  await log.open()
  t.teardown(() => log.close())
  return log
}

t.test('a held event and every one after it stay unread until it is released', async (t) => {
  const log = await openLog(t)
  let release = () => {}
  const visible = new Promise<void>((r) => (release = r))
  const first = await log.append({ kind: 'staged', time: new Date().toISOString(), subject: 'local_upload/A', data: {} }, visible)
  const second = await log.append({ kind: 'staged', time: new Date().toISOString(), subject: 'local_upload/B', data: {} })
  t.same([sequenceOf(first), sequenceOf(second)], [1, 2], 'both appended and durable')
  t.equal(log.head, 0, 'head stops below the held event')
  t.same(await log.read(0, 10), [], 'readers see neither')

  let woke = false
  const waiting = log.waitFor(0, 10_000).then(() => (woke = true))
  await new Promise((r) => setTimeout(r, 50))
  t.notOk(woke, 'a long-poll is not woken by a held event')

  release()
  await waiting
  t.equal(log.head, 2, 'released: head moves to the newest durable event')
  t.same((await log.read(0, 10)).map(sequenceOf), [1, 2], 'in order')
})

t.test('a held event whose change failed is released too', async (t) => {
  const log = await openLog(t)
  const failed = Promise.reject(new Error('the commit failed'))
  await log.append({ kind: 'staged', time: new Date().toISOString(), subject: 'local_upload/A', data: {} }, failed)
  await new Promise((r) => setImmediate(r))
  t.equal(log.head, 1, 'a rejected gate releases the event as a resolved one does')
})

t.test('a consumer that GETs each staged item the moment it reads the event finds it', async (t) => {
  const { app } = await buildTestApp(t)
  const total = 120
  const missing: string[] = []
  let found = 0
  let after = 0
  const consumer = (async () => {
    while (found + missing.length < total) {
      const { events, next } = await eventPage(app, `after=${after}&limit=100&wait=5`)
      after = next
      await Promise.all(
        events.map(async (e) => {
          const res = await app.inject({ method: 'GET', url: `/v1/staging/${e.subject}` })
          if (res.statusCode === 200) found++
          else missing.push(`${e.subject} ${res.statusCode}`)
        })
      )
    }
  })()
  // 16 writers at once, so commits' directory fsyncs and the log's fdatasyncs finish in every order.
  let nextId = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (nextId < total) await upload(app, `V${nextId++}`, `v${nextId}`)
    })
  )
  await consumer
  t.same(missing, [], 'no staged event named an item a GET could not find')
  t.equal(found, total)
})
