// Stored names stay usable: cut on a character boundary, no invisible format characters, downloads work.
import { Writable } from 'node:stream'
import { request } from 'node:http'
import t from 'tap'
import { pino } from 'pino'
import { cutToBytes, sanitiseFilename } from '../../src/staging/filename.js'
import { buildTestApp, upload } from '../helper.js'

const wellFormed = (s: string) => !/\p{Cs}/u.test(s)

t.test('a long name of emoji is cut on a character boundary and downloads', async (t) => {
  const { app } = await buildTestApp(t)
  const name = `${'😀'.repeat(80)}.pdf`
  const stored = sanitiseFilename(name)
  t.ok(Buffer.byteLength(stored) <= 200, 'within the byte limit')
  t.ok(wellFormed(stored), 'no lone surrogate')
  t.ok(stored.endsWith('.pdf'), 'the extension is kept')
  const family = '👨‍👩‍👧'
  t.equal(cutToBytes(family.repeat(20), 30), family, 'a grapheme is never split')

  t.equal((await upload(app, 'EMOJI', 'bytes', { filename: name })).statusCode, 201)
  const content = await app.inject({ method: 'GET', url: '/v1/staging/local_upload/EMOJI/content' })
  t.equal(content.statusCode, 200)
  t.match(content.headers['content-disposition'], /filename\*=UTF-8''/)
  t.equal(content.body, 'bytes')
  const record = (await app.inject({ method: 'GET', url: '/v1/staging/local_upload/EMOJI' })).json()
  t.equal(record.original_filename, name, 'the name as given is kept')
})

t.test('bidi overrides and other invisible format characters are removed', async (t) => {
  t.equal(sanitiseFilename('invoice\u202Efdp.exe'), 'invoicefdp.exe')
  t.equal(sanitiseFilename('a\u200Bb\u2066c\u2069d\uFEFF\u00AD.pdf'), 'abcd.pdf')
  t.equal(sanitiseFilename('line\u2028break\u0085.txt'), 'linebreak.txt')
  t.equal(sanitiseFilename('\u202E.metadata.json'), 'metadata.json', 'no dotfile after removal')
  t.equal(sanitiseFilename('\uD800x.pdf'), 'x.pdf', 'a lone surrogate is removed')
  t.equal(sanitiseFilename('\u200B\u200B'), 'document.bin', 'nothing left: the fallback')
})

t.test('an item stored before the fix (lone surrogate in its name) still downloads', async (t) => {
  const { app } = await buildTestApp(t)
  t.equal((await upload(app, 'OLD', 'old')).statusCode, 201)
  const record = app.staging.store.get('local_upload', 'OLD')!
  app.staging.store.index.put({ ...record, filename: `${record.filename}\uD83D` })
  // file_path still names the file on disk; only the Content-Disposition header is built from the name.
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/OLD/content' })).statusCode, 200)
})

t.test('a client that aborts its upload is logged at info, not as a failed request', async (t) => {
  const lines: { level: number; msg: string }[] = []
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => { for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l)); done() } })
  const { app } = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logger: pino({ level: 'info' }, sink) })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port
  const boundary = 'abrt'
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\nABORT\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n`
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/documents', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': 10_000_000 } })
  req.on('error', () => undefined)
  req.write(head)
  req.write(Buffer.alloc(100_000, 1))
  for (let i = 0; i < 40 && app.staging.store.draftDirs().size === 0; i++) await new Promise((r) => setTimeout(r, 50))
  const closed = new Promise((resolve) => req.once('close', resolve))
  req.destroy()
  await closed
  for (let i = 0; i < 40 && app.staging.store.draftDirs().size > 0; i++) await new Promise((r) => setTimeout(r, 50))
  await new Promise((r) => setTimeout(r, 100))
  t.equal(app.staging.store.draftDirs().size, 0, 'the draft is gone')
  t.equal(app.staging.store.quota.reservedBytes, 0, 'no quota held')
  t.same(lines.filter((l) => l.level >= 40).map((l) => l.msg), [], 'no warning or error lines')
  t.ok(lines.some((l) => l.level === 30 && /abort/.test(l.msg)), 'an info line says the client aborted')
})
