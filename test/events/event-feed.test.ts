// GET /v1/events through HTTP on real temp trees: every change as one CloudEvent in order, long-polling,
// numbering and delivery exactly once across a restart, 410 after trimming, validation.
import { createHash } from 'node:crypto'
import { open, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, tempDir, upload } from '../helper.js'
import { eventPage, EVERY_KIND_OF_CHANGE, makeEveryKindOfChange, short } from './feed-client.js'

/** A segment's data: the zeros of its preallocated rest cut off. */
const dataOf = (text: string) => text.replace(/\0+$/, '')

t.test('every change is one CloudEvent, in order, durable when answered', async (t) => {
  const { app, clock } = await buildTestApp(t, { STAGING_ABANDONED_AFTER_HOURS: '1' })
  await makeEveryKindOfChange(app, clock)

  const { events, next } = await eventPage(app, 'after=0')
  t.same(events.map(short), EVERY_KIND_OF_CHANGE)
  t.same(events.map((e) => Number(e.sequence)), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'sequences 1..n')
  t.equal(next, 9)
  t.equal(new Set(events.map((e) => e.id)).size, events.length, 'unique ids')
  const staged = events[1]!
  t.equal(staged.specversion, '1.0')
  t.equal(staged.data.sha256, createHash('sha256').update('two').digest('hex'), 'the overwrite\'s record is the data')
  t.match(staged, { source: '/apex-staging', datacontenttype: 'application/json', sequence: '0000000000000002' })
  t.equal(events[4]!.data.status, 'failed')
  t.equal(events[8]!.data.marked_abandoned, 1, 'the sweep summary is the data')

  t.same((await eventPage(app, 'after=3&limit=2')).events.map((e) => Number(e.sequence)), [4, 5], 'after and limit')
  t.same(await eventPage(app, 'after=9'), { events: [], next: 9 }, 'nothing new: next stays')

  // Durable before answered: the segment on disk already holds every event.
  const dir = join((app.staging.config.baseDir), '.events')
  const lines = dataOf(await readFile(join(dir, (await readdir(dir))[0]!), 'utf8')).trim().split('\n')
  t.equal(lines.length, 9, 'all on disk')
})

t.test('a long-polling consumer sees every change exactly once in order, across a restart', async (t) => {
  const baseDir = await tempDir(t)
  const seen: number[] = []
  const subjects: string[] = []
  let after = 0
  for (let round = 0; round < 2; round++) {
    const { app } = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
    let writing = true
    const writer = (async () => {
      for (let i = 0; i < 15; i++) {
        await upload(app, `R${round}-${i}`, `x${i}`)
        if (i % 3 === 0) await app.inject({ method: 'POST', url: `/v1/staging/local_upload/R${round}-${i}/cleanup`, payload: { status: 'success' } })
        await new Promise((r) => setTimeout(r, 2))
      }
      writing = false
    })()
    while (writing || (await eventPage(app, `after=${after}`)).events.length > 0) {
      const { events, next } = await eventPage(app, `after=${after}&limit=7&wait=0.2`)
      for (const e of events) {
        seen.push(Number(e.sequence))
        subjects.push(short(e))
      }
      after = next
    }
    await writer
    await app.close()
  }
  t.equal(seen.length, 2 * (15 + 5), 'every change')
  t.same(seen, seen.map((_, i) => i + 1), 'exactly once, in order, numbering continues after the restart')
  t.equal(subjects[20], 'item.staged local_upload/R1-0', 'the second run starts where the first ended')
})

t.test('a long-poll wakes on the append, ends at its wait, and ends at once on close', async (t) => {
  const { app } = await buildTestApp(t)
  const started = Date.now()
  const polling = eventPage(app, 'after=0&wait=10')
  await new Promise((r) => setTimeout(r, 100))
  await upload(app, 'W', 'w')
  const woke = await polling
  t.equal(woke.events.length, 1)
  t.ok(Date.now() - started < 5000, 'woke on the append, not at the end of wait')

  const t0 = Date.now()
  t.same(await eventPage(app, 'after=1&wait=0.3'), { events: [], next: 1 })
  t.ok(Date.now() - t0 >= 250, 'held for wait')

  const held = app.inject({ method: 'GET', url: '/v1/events?after=1&wait=60' })
  await new Promise((r) => setTimeout(r, 100))
  const t1 = Date.now()
  await app.close()
  const res = await held
  t.ok(Date.now() - t1 < 5000, 'close did not wait out the long-poll')
  t.equal(res.statusCode, 200)
  t.same(res.json().events, [])
})

t.test('an `after` older than the trimmed log is 410 EventsGone with the oldest sequence', async (t) => {
  // 1 KiB segments, 2 KiB in all: a few uploads rotate and trim.
  const { app } = await buildTestApp(t, { STAGING_EVENTS_SEGMENT_MB: '0.0009765625', STAGING_EVENTS_MAX_MB: '0.001953125' })
  for (let i = 0; i < 12; i++) await upload(app, `T${i}`, `t${i}`)
  const dir = join(app.staging.config.baseDir, '.events')
  t.ok((await readdir(dir)).length <= 3, 'old segments were deleted')
  const res = await app.inject({ method: 'GET', url: '/v1/events?after=0' })
  t.equal(res.statusCode, 410)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  const problem = res.json()
  t.match(problem, { code: 'EventsGone', status: 410, retryable: false })
  t.ok(problem.oldest_sequence > 1, 'names the oldest sequence')
  const resumed = await eventPage(app, `after=${problem.oldest_sequence - 1}&limit=1000`)
  t.equal(Number(resumed.events[0]!.sequence), problem.oldest_sequence, 'resuming there works')
  t.equal(Number(resumed.events.at(-1)!.sequence), 12, 'through the newest')
})

t.test('a torn tail after kill -9 is dropped at start and numbering continues', async (t) => {
  const baseDir = await tempDir(t)
  const first = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  for (let i = 0; i < 3; i++) await upload(first.app, `K${i}`, `k${i}`)
  await first.app.close()
  const dir = join(baseDir, '.events')
  const segment = join(dir, (await readdir(dir))[0]!)
  const whole = await readFile(segment, 'utf8')
  // Half a line where the next would go, as a crash mid-write leaves it.
  const handle = await open(segment, 'r+')
  await handle.write(whole.split('\n')[0]!.slice(0, 40), Buffer.byteLength(dataOf(whole)))
  await handle.close()
  const second = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  t.equal(dataOf(await readFile(segment, 'utf8')), dataOf(whole), 'the torn line is zeroed')
  await upload(second.app, 'K3', 'k3')
  const { events } = await eventPage(second.app, 'after=0')
  t.same(events.map((e) => Number(e.sequence)), [1, 2, 3, 4])

  // A whole line beyond a gap of zeros (a batch whose pages landed out of order, never acknowledged)
  // is not read, and is zeroed so that no later write can line up with it.
  await second.app.close()
  const stale = (await readFile(segment, 'utf8')).split('\n')[1]! + '\n'
  const gapAt = Buffer.byteLength(dataOf(await readFile(segment, 'utf8'))) + 300
  const h2 = await open(segment, 'r+')
  await h2.write(stale, gapAt)
  await h2.close()
  const again = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  t.same((await eventPage(again.app, 'after=0')).events.map((e) => Number(e.sequence)), [1, 2, 3, 4], 'the stale line is not an event')
  t.notOk((await readFile(segment, 'utf8')).slice(gapAt).includes(stale), 'and it is gone from the file')
  await again.app.close()

  // A corrupt line (bytes flipped) ends the valid log the same way. K3 itself is in the tree, so the
  // start appends its event again (src/events/event-recovery.ts) under the next number.
  await writeFile(segment, (await readFile(segment, 'utf8')).replace(/"K3"/, '"K9"'))
  const third = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  const after = (await eventPage(third.app, 'after=0')).events
  t.same(after.map((e) => Number(e.sequence)), [1, 2, 3, 4])
  t.same(after.map((e) => e.subject), ['local_upload/K0', 'local_upload/K1', 'local_upload/K2', 'local_upload/K3'], 'the corrupt K3 event dropped, K3 told again')
})

t.test('an `after` past the newest event (a position from another log) is 410 too, not an endless wait', async (t) => {
  const { app } = await buildTestApp(t)
  await upload(app, 'P', 'p')
  const res = await app.inject({ method: 'GET', url: '/v1/events?after=500&wait=30' })
  t.equal(res.statusCode, 410)
  t.match(res.json(), { code: 'EventsGone', oldest_sequence: 1, newest_sequence: 1 })
})

t.test('the event series exist from the first scrape, push or not', async (t) => {
  const { app } = await buildTestApp(t)
  await upload(app, 'M', 'm')
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(text, /^staging_events_last_sequence 1$/m)
  t.match(text, /^staging_events_pending 0$/m, 'nothing pending without push')
  t.match(text, /^staging_events_delivered_total 0$/m)
  t.match(text, /^staging_event_delivery_failures_total 0$/m)
})

t.test('bad queries are 400 ValidationError; the feed needs a token', async (t) => {
  const { app } = await buildTestApp(t)
  for (const q of ['after=-1', 'after=x', 'limit=0', 'limit=1001', 'wait=61', 'wait=-1']) {
    const res = await app.inject({ method: 'GET', url: `/v1/events?${q}` })
    t.equal(res.statusCode, 400, q)
    t.equal(res.json().code, 'ValidationError', q)
  }
  const secured = await buildTestApp(t, { STAGING_API_TOKENS: 'ingest:ingest-token-1,operator:operator-token-1' })
  t.equal((await secured.app.inject({ method: 'GET', url: '/v1/events' })).statusCode, 401)
  for (const token of ['ingest-token-1', 'operator-token-1']) {
    t.equal((await secured.app.inject({ method: 'GET', url: '/v1/events', headers: { authorization: `Bearer ${token}` } })).statusCode, 200, token)
  }
})
