import t from 'tap'
import { register as globalRegistry } from 'prom-client'
import { buildTestApp, HOUR, upload } from '../helper.js'
import { sampleValue } from './prom-text.js'

const scrape = async (app: Awaited<ReturnType<typeof buildTestApp>>['app'], headers: Record<string, string> = {}) => {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers })
  return res
}

t.test('/metrics is Prometheus text with process defaults and the contract names', async (t) => {
  const { app } = await buildTestApp(t, { STAGING_MAX_SIZE_GB: '2' })
  const res = await scrape(app)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = res.body
  t.ok(sampleValue(text, 'process_cpu_user_seconds_total') !== undefined, 'process defaults')
  t.ok(sampleValue(text, 'nodejs_heap_size_used_bytes') !== undefined, 'node defaults')
  t.equal(sampleValue(text, 'staging_quota_bytes'), 2 * 1024 ** 3)
  t.equal(sampleValue(text, 'staging_cleanup_last_run_timestamp_seconds'), 0, 'no sweep yet')
  t.equal(sampleValue(text, 'staging_cleanup_interval_seconds'), 3600)
  for (const status of ['active', 'success', 'failed']) t.equal(sampleValue(text, 'staging_documents_by_status', { status }), 0)
  t.equal(sampleValue(text, 'staging_bytes_written_total', { source: 'local_upload' }), 0, 'counters start at zero')
  for (const name of ['staging_cleanup_success_total', 'staging_cleanup_failed_total', 'staging_cleanup_runs_total']) {
    t.equal(sampleValue(text, name), 0, name)
  }
  t.same(globalRegistry.getMetricsAsArray(), [], 'nothing lands in the global default registry')
})

t.test('gauges follow the index at every scrape', async (t) => {
  const { app } = await buildTestApp(t)
  t.equal((await upload(app, 'DOC-1', 'x'.repeat(100))).statusCode, 201)
  t.equal((await upload(app, 'DOC-2', 'y'.repeat(50), { source: 'frontapp' })).statusCode, 201)
  let text = (await scrape(app)).body
  t.equal(sampleValue(text, 'staging_disk_usage_bytes', { source: 'local_upload' }), 100)
  t.equal(sampleValue(text, 'staging_disk_usage_bytes', { source: 'frontapp' }), 50)
  t.equal(sampleValue(text, 'staging_documents_by_status', { status: 'active' }), 2)
  t.equal(sampleValue(text, 'staging_documents_by_source', { source: 'frontapp' }), 1)
  t.equal(sampleValue(text, 'staging_bytes_written_total', { source: 'local_upload' }), 100)
  t.equal(sampleValue(text, 'staging_items_committed_total', { source: 'frontapp', kind: 'document' }), 1)

  const patch = await app.inject({ method: 'PATCH', url: '/v1/staging/frontapp/DOC-2', payload: { status: 'failed', error: 'bad' } })
  t.equal(patch.statusCode, 200)
  text = (await scrape(app)).body
  t.equal(sampleValue(text, 'staging_documents_by_status', { status: 'active' }), 1)
  t.equal(sampleValue(text, 'staging_documents_by_status', { status: 'failed' }), 1)
})

t.test('two apps in one process keep separate registries', async (t) => {
  const a = await buildTestApp(t)
  const b = await buildTestApp(t)
  await upload(a.app, 'DOC-1', 'abc')
  t.equal(sampleValue((await scrape(a.app)).body, 'staging_bytes_written_total', { source: 'local_upload' }), 3)
  t.equal(sampleValue((await scrape(b.app)).body, 'staging_bytes_written_total', { source: 'local_upload' }), 0)
})

t.test('cleanup counters: success removals, expired failures, runs and the last run time', async (t) => {
  const { app, clock } = await buildTestApp(t, { STAGING_FAILED_RETENTION_HOURS: '1' })
  await upload(app, 'OK-1', 'a')
  await upload(app, 'OK-2', 'b')
  await upload(app, 'BAD-1', 'c')
  const done = await app.inject({ method: 'POST', url: '/v1/staging/local_upload/OK-1/cleanup', payload: { status: 'success' } })
  t.same(done.json().removed, true)
  await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/OK-2', payload: { status: 'success' } })
  await app.inject({ method: 'PATCH', url: '/v1/staging/local_upload/BAD-1', payload: { status: 'failed' } })

  t.equal((await app.inject({ method: 'POST', url: '/v1/cleanup?dry_run=true' })).statusCode, 200)
  let text = (await scrape(app)).body
  t.equal(sampleValue(text, 'staging_cleanup_runs_total'), 0, 'a dry run is not a run')
  t.equal(sampleValue(text, 'staging_cleanup_success_total'), 1, 'the per-item cleanup call counts')

  clock.advance(2 * HOUR)
  const sweep = await app.inject({ method: 'POST', url: '/v1/cleanup' })
  t.equal(sweep.json().removed, 2)
  text = (await scrape(app)).body
  t.equal(sampleValue(text, 'staging_cleanup_runs_total'), 1)
  t.equal(sampleValue(text, 'staging_cleanup_success_total'), 2)
  t.equal(sampleValue(text, 'staging_cleanup_failed_total'), 1)
  t.equal(sampleValue(text, 'staging_items_removed_total', { source: 'local_upload', reason: 'expired' }), 1)
  t.equal(sampleValue(text, 'staging_cleanup_last_run_timestamp_seconds'), clock.now() / 1000)
  t.equal(sampleValue(text, 'staging_cleanup_duration_seconds_count'), 1)
  t.equal(sampleValue(text, 'staging_documents_by_status', { status: 'failed' }), 0)
})

t.test('the request histogram is labelled by route template, never the raw path', async (t) => {
  const { app } = await buildTestApp(t)
  await upload(app, 'SECRET-ID-42', 'abc')
  t.equal((await app.inject({ method: 'GET', url: '/v1/staging/local_upload/SECRET-ID-42' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/no/such/path-SECRET-ID-43' })).statusCode, 404)
  const text = (await scrape(app)).body
  t.notMatch(text, /SECRET-ID/, 'no identifiers in label values')
  t.equal(sampleValue(text, 'http_request_duration_seconds_count', { route: '/v1/staging/:source/:document_id', method: 'GET', status_code: '200' }), 1)
  t.equal(sampleValue(text, 'http_request_duration_seconds_count', { route: '/v1/documents', method: 'POST', status_code: '201' }), 1)
  t.equal(sampleValue(text, 'http_request_duration_seconds_count', { route: 'unmatched', method: 'GET', status_code: '404' }), 1)
})

t.test('upstream requests and structured fetches reported by the domain become series', async (t) => {
  const { app } = await buildTestApp(t)
  app.staging.observer.upstreamRequest('samsara', 'ok', 0.2)
  app.staging.observer.upstreamRequest('samsara', 'http_5xx', 1.5)
  app.staging.observer.structuredFetched('turvo')
  const text = (await scrape(app)).body
  t.equal(sampleValue(text, 'staging_upstream_requests_total', { upstream: 'samsara', outcome: 'http_5xx' }), 1)
  t.equal(sampleValue(text, 'staging_upstream_request_duration_seconds_sum', { upstream: 'samsara', outcome: 'ok' }), 0.2)
  t.equal(sampleValue(text, 'structured_data_fetched_total', { source: 'turvo' }), 1)
})

t.test('an injected observer hears events and metrics still count them', async (t) => {
  const heard: string[] = []
  const { app } = await buildTestApp(t, {}, {
    observer: {
      bytesWritten: (s, n) => heard.push(`${s}:${n}`),
      itemCommitted: () => undefined,
      itemRemoved: () => undefined,
      sweepFinished: () => undefined,
      structuredFetched: () => undefined,
      upstreamRequest: () => undefined
    }
  })
  await upload(app, 'DOC-1', 'abcd')
  t.same(heard, ['local_upload:4'])
  t.equal(sampleValue((await scrape(app)).body, 'staging_bytes_written_total', { source: 'local_upload' }), 4)
})

t.test('STAGING_METRICS_TOKEN guards /metrics', async (t) => {
  const { app } = await buildTestApp(t, { STAGING_METRICS_TOKEN: 'metrics-secret-123' })
  t.equal((await scrape(app)).statusCode, 401)
  t.equal((await scrape(app, { authorization: 'Bearer wrong-token-0000' })).statusCode, 401)
  const ok = await scrape(app, { authorization: 'Bearer metrics-secret-123' })
  t.equal(ok.statusCode, 200)
  t.match(ok.body, /staging_quota_bytes/)
})

t.test('upstream request series exist at 0 for every upstream and outcome before any request', async (t) => {
  const { app } = await buildTestApp(t)
  const text = (await scrape(app)).body
  for (const upstream of ['http', 'https', 'frontapp', 'samsara', 'turvo']) {
    for (const outcome of ['success', 'server_error', 'rate_limited', 'timeout', 'network_error', 'rejected']) {
      t.equal(sampleValue(text, 'staging_upstream_requests_total', { upstream, outcome }), 0, `${upstream} ${outcome}`)
    }
  }
})
