// Changes that reached the tree without their event (kill -9 between a commit and its event's append)
// get their event at the next start; a clean restart appends nothing.
import { open, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, tempDir, upload } from '../helper.js'
import { eventPage, short } from './feed-client.js'

const allEvents = async (app: FastifyInstance) => (await eventPage(app, 'after=0&limit=1000')).events

t.test('a change without its event gets one at the next start', async (t) => {
  const baseDir = await tempDir(t)
  const first = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  await upload(first.app, 'A', 'a')
  await upload(first.app, 'C', 'c')
  await upload(first.app, 'B', 'b')
  t.same((await allEvents(first.app)).map(short), ['item.staged local_upload/A', 'item.staged local_upload/C', 'item.staged local_upload/B'])
  await first.app.close()

  // B committed but its event never reached the disk: its line (the last) is zeros, as an unwritten tail.
  const eventsDir = join(baseDir, '.events')
  const segment = join(eventsDir, (await readdir(eventsDir))[0]!)
  const data = (await readFile(segment, 'utf8')).replace(/\0+$/, '')
  const lastLine = data.trimEnd().split('\n').at(-1)!
  const handle = await open(segment, 'r+')
  const zeros = Buffer.alloc(Buffer.byteLength(lastLine) + 1)
  await handle.write(zeros, 0, zeros.length, Buffer.byteLength(data) - zeros.length)
  await handle.close()
  // A's status change reached its metadata, not the log.
  const metaPath = join(baseDir, 'local_upload', 'A', '.metadata.json')
  const meta = JSON.parse(await readFile(metaPath, 'utf8')) as Record<string, unknown>
  const later = new Date(Date.parse(meta.updated_at as string) + 1000).toISOString()
  await writeFile(metaPath, JSON.stringify({ ...meta, status: 'failed', error: 'bad', updated_at: later, expires_at: new Date(Date.parse(later) + 86_400_000).toISOString() }))
  // C's event landed but its commit did not survive the crash.
  await rm(join(baseDir, 'local_upload', 'C'), { recursive: true })

  const second = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  const events = await allEvents(second.app)
  t.same(events.map(short), [
    'item.staged local_upload/A',
    'item.staged local_upload/C',
    'item.staged local_upload/B',
    'item.status_changed local_upload/A',
    'item.removed local_upload/C deleted'
  ], 'the missing events follow what the log had, in the order of the changes')
  t.same(events.map((e) => Number(e.sequence)), [1, 2, 3, 4, 5], 'numbering continues')
  t.match(events[2]?.data, { document_id: 'B', status: 'active' })
  t.match(events[3]?.data, { document_id: 'A', status: 'failed', updated_at: later })
  await second.app.close()

  const third = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  t.equal((await allEvents(third.app)).length, 5, 'a clean restart appends nothing')
})

t.test('a tree whose log is empty (events new to it) gets no events for its old items', async (t) => {
  const baseDir = await tempDir(t)
  const first = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  await upload(first.app, 'OLD', 'old')
  await first.app.close()
  await rm(join(baseDir, '.events'), { recursive: true })
  const second = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  t.same(await allEvents(second.app), [])
})
