// Contract: the /v1/staging item routes answer exactly what openapi.yaml documents, errors included.
import { rm } from 'node:fs/promises'
import t from 'tap'
import { buildTestApp, upload } from '../helper.js'
import { AUTH_ENV, as, expectAllExercised, expectContract } from './spec.js'

const ITEM = '/v1/staging/{source}/{document_id}'
const OPERATIONS: [string, string][] = [
  ['GET', '/v1/staging'],
  ['GET', ITEM],
  ['GET', `${ITEM}/content`],
  ['PATCH', ITEM],
  ['POST', `${ITEM}/cleanup`],
  ['DELETE', ITEM]
]

t.test('item routes', async (t) => {
  const { app } = await buildTestApp(t, AUTH_ENV)
  const ingest = as('ingest')
  const json = { ...ingest, 'content-type': 'application/json' }
  await upload(app, 'DOC-1', 'hello contract', { headers: ingest })
  await upload(app, 'DOC-2', '', { headers: ingest, filename: 'empty.txt', contentType: 'text/plain' })
  const call = async (method: string, template: string, url: string, status: number, init: { headers?: Record<string, string>; payload?: string } = {}) => {
    const res = await app.inject({ method: method as 'GET', url, headers: init.headers ?? ingest, payload: init.payload })
    expectContract(t, method, template, res, status)
    return res
  }

  await call('GET', '/v1/staging', '/v1/staging?limit=1', 200)
  await call('GET', '/v1/staging', '/v1/staging?limit=0', 400)
  await call('GET', '/v1/staging', '/v1/staging', 401, { headers: {} })

  await call('GET', ITEM, '/v1/staging/local_upload/DOC-1', 200)
  await call('GET', ITEM, '/v1/staging/local_upload/-bad-', 400)
  await call('GET', ITEM, '/v1/staging/local_upload/DOC-1', 401, { headers: { authorization: 'Bearer wrong-token-xyz' } })
  await call('GET', ITEM, '/v1/staging/local_upload/NOPE', 404)

  const content = `${ITEM}/content`
  const whole = await call('GET', content, '/v1/staging/local_upload/DOC-1/content', 200)
  t.equal(whole.body, 'hello contract')
  const part = await call('GET', content, '/v1/staging/local_upload/DOC-1/content', 206, { headers: { ...ingest, range: 'bytes=0-4' } })
  t.equal(part.body, 'hello')
  await call('GET', content, '/v1/staging/local_upload/DOC-1/content', 304, { headers: { ...ingest, 'if-none-match': String(whole.headers.etag) } })
  await call('GET', content, '/v1/staging/local_upload/DOC-1/content', 416, { headers: { ...ingest, range: 'bytes=500-' } })
  await call('GET', content, '/v1/staging/local_upload/DOC-2/content', 200)
  await call('GET', content, '/v1/staging/nowhere/DOC-1/content', 400)
  await call('GET', content, '/v1/staging/local_upload/DOC-1/content', 401, { headers: {} })
  await call('GET', content, '/v1/staging/local_upload/NOPE/content', 404)

  await call('PATCH', ITEM, '/v1/staging/local_upload/DOC-1', 200, { headers: json, payload: '{"status":"active"}' })
  await call('PATCH', ITEM, '/v1/staging/local_upload/DOC-1', 400, { headers: json, payload: '{"status":"done"}' })
  await call('PATCH', ITEM, '/v1/staging/local_upload/DOC-1', 401, { headers: { 'content-type': 'application/json' }, payload: '{"status":"active"}' })
  await call('PATCH', ITEM, '/v1/staging/local_upload/NOPE', 404, { headers: json, payload: '{"status":"active"}' })
  await call('PATCH', ITEM, '/v1/staging/local_upload/DOC-1', 415, { headers: { ...ingest, 'content-type': 'text/plain' }, payload: 'status=active' })
  await call('PATCH', ITEM, '/v1/staging/local_upload/DOC-2', 200, { headers: json, payload: '{"status":"success"}' })
  await call('PATCH', ITEM, '/v1/staging/local_upload/DOC-2', 409, { headers: json, payload: '{"status":"active"}' })

  const complete = `${ITEM}/cleanup`
  await call('POST', complete, '/v1/staging/local_upload/DOC-2/cleanup', 409, { headers: json, payload: '{"status":"failed"}' })
  await call('POST', complete, '/v1/staging/local_upload/DOC-2/cleanup', 200, { headers: json, payload: '{"status":"success"}' })
  await call('POST', complete, '/v1/staging/local_upload/DOC-2/cleanup', 400, { headers: json, payload: '{"status":"active"}' })
  await call('POST', complete, '/v1/staging/local_upload/DOC-2/cleanup', 401, { headers: { 'content-type': 'application/json' }, payload: '{"status":"success"}' })
  await call('POST', complete, '/v1/staging/local_upload/DOC-2/cleanup', 415, { headers: { ...ingest, 'content-type': 'text/plain' }, payload: 'success' })

  await call('DELETE', ITEM, '/v1/staging/local_upload/DOC-1', 403)
  await call('DELETE', ITEM, '/v1/staging/local_upload/DOC-1', 204, { headers: as('operator') })
  await call('DELETE', ITEM, '/v1/staging/local_upload/DOC-1', 404, { headers: as('operator') })
  await call('DELETE', ITEM, '/v1/staging/local_upload/a%2Fb', 400, { headers: as('operator') })
  await call('DELETE', ITEM, '/v1/staging/local_upload/DOC-1', 401, { headers: {} })

  expectAllExercised(t, OPERATIONS)
})

t.test('a 404 from a file removed under the record is still a documented problem', async (t) => {
  const { app } = await buildTestApp(t, AUTH_ENV)
  const staged = (await upload(app, 'DOC-9', 'gone soon', { headers: as('ingest') })).json()
  await rm(staged.file_path)
  const res = await app.inject({ method: 'GET', url: '/v1/staging/local_upload/DOC-9/content', headers: as('ingest') })
  expectContract(t, 'GET', `${ITEM}/content`, res, 404)
})
