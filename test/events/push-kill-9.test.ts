// kill -9 of the service process while it stages and pushes: after restarts the receiver has every
// event of the log, first seen in sequence order, duplicates only with the same webhook-id and body,
// and every acknowledged upload has its `staged` event.
import { once } from 'node:events'
import t from 'tap'
import { freePort, multipartBody, tempDir } from '../helper.js'
import { startServer, waitHealthy } from '../proofs/server-bundle.js'
import { Receiver, SECRET } from './receiver.js'

const ROUNDS = Number(process.env.PUSH_KILL_ROUNDS ?? 5)

t.test('kill -9 during push loses no event and duplicates only by webhook-id', async (t) => {
  t.setTimeout(120_000)
  const dir = await tempDir(t)
  const receiver = new Receiver()
  // Slow answers, so kills land while a delivery is in flight.
  receiver.delayMs = 10
  const receiverPort = await receiver.listen(t)
  const env = {
    STAGING_BASE_DIR: dir,
    STAGING_EVENTS_URL: `http://127.0.0.1:${receiverPort}/hook`,
    STAGING_EVENTS_SECRET: SECRET,
    STAGING_HTTP_ALLOW_HOSTS: `127.0.0.1:${receiverPort}`
  }
  const start = async () => {
    const port = await freePort()
    const child = startServer({ ...env, PORT: String(port) })
    // Killed at teardown whatever happens: a leftover child would keep the test runner's pipe open.
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    await waitHealthy(port, child)
    return { child, base: `http://127.0.0.1:${port}` }
  }
  const acked: string[] = []
  let kills = 0
  for (let round = 0; round < ROUNDS; round++) {
    const { child, base } = await start()
    const exited = once(child, 'exit')
    let firstAck = () => undefined as void
    const acknowledged = new Promise<void>((resolve) => (firstAck = resolve))
    const upload = (id: string) => {
      const body = multipartBody({ document_id: id }, { filename: `${id}.bin`, content: `${id}|`.repeat(50) })
      return fetch(`${base}/v1/documents`, { method: 'POST', headers: { 'content-type': body.headers['content-type'] as string }, body: body.payload }).then(
        (res) => {
          if (res.status !== 201) return
          acked.push(id)
          firstAck()
        },
        () => undefined
      )
    }
    const uploads = Array.from({ length: 8 }, (_, i) => upload(`K${round}-${i}`))
    // The kill waits for one of the round's uploads to be acknowledged (a fresh process's first ones
    // took longer than a fixed 60-260 ms on a slow machine: CI once saw none in five rounds); a second
    // wave then starts, and the kill lands at a moment that varies by round, with that wave and the
    // pushes in flight.
    await Promise.race([acknowledged, new Promise((r) => setTimeout(r, 15_000))])
    uploads.push(...Array.from({ length: 8 }, (_, i) => upload(`K${round}-${8 + i}`)))
    await new Promise((r) => setTimeout(r, (round * 53) % 200))
    child.kill('SIGKILL')
    await exited
    kills++
    await Promise.all(uploads)
  }

  const { child, base } = await start()
  const events: { sequence: string; subject?: string; id: string }[] = []
  for (let after = 0; ; ) {
    const page = (await (await fetch(`${base}/v1/events?after=${after}&limit=1000`)).json()) as { events: typeof events; next: number }
    if (page.events.length === 0) break
    events.push(...page.events)
    after = page.next
  }
  await receiver.waitFor(events.length, 60_000)
  child.kill('SIGTERM')
  await once(child, 'exit')

  t.equal(kills, ROUNDS)
  t.ok(acked.length > 0, `${acked.length} uploads acknowledged before the kills`)
  const staged = new Set(events.map((e) => e.subject))
  t.same(acked.filter((id) => !staged.has(`local_upload/${id}`)), [], 'every acknowledged upload has its staged event')
  t.same(receiver.firstSeen(), events.map((e) => Number(e.sequence)), 'the receiver saw every event of the log, first in order')
  const byId = new Map<string, string>()
  let duplicates = 0
  for (const d of receiver.deliveries) {
    const seen = byId.get(d.id)
    if (seen !== undefined) {
      duplicates++
      if (seen !== d.body) t.fail(`webhook-id ${d.id} came with another body`)
    }
    byId.set(d.id, d.body)
  }
  t.same([...byId.keys()].sort(), events.map((e) => e.id).sort(), 'one webhook-id per event, the event id')
  t.ok(receiver.deliveries.every((d) => d.signatureOk), 'every delivery signed')
  t.comment(`${acked.length} acknowledged uploads, ${events.length} events, ${receiver.deliveries.length} deliveries (${duplicates} duplicates) across ${kills} kills`)
})
