import { createHash } from 'node:crypto'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { buildTestApp, upload } from '../helper.js'

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')

t.test('an upload is staged whole with its hash, and answers 201 with Location', async (t) => {
  const { app, baseDir } = await buildTestApp(t)
  const res = await upload(app, 'DOC-123', 'hello pdf', { filename: 'invoice.pdf' })
  t.equal(res.statusCode, 201)
  t.equal(res.headers.location, '/v1/staging/local_upload/DOC-123')
  const record = res.json()
  t.match(record, {
    document_id: 'DOC-123',
    source: 'local_upload',
    kind: 'document',
    status: 'active',
    filename: 'invoice.pdf',
    original_filename: 'invoice.pdf',
    content_type: 'application/pdf',
    file_size_bytes: 9,
    sha256: sha('hello pdf'),
    source_location: null,
    error: null,
    expires_at: null
  })
  t.equal(record.file_path, join(baseDir, 'local_upload', 'DOC-123', 'invoice.pdf'))
  t.equal(await readFile(record.file_path, 'utf8'), 'hello pdf')
  const meta = JSON.parse(await readFile(join(baseDir, 'local_upload', 'DOC-123', '.metadata.json'), 'utf8'))
  t.same(meta, record)
  t.same(await readdir(join(baseDir, '.tmp')), [], 'no temp leftovers')
})
