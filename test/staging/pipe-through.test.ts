// The draft's body → file (the file writer meters each chunk): pipeline's semantics without pipeline
// (src/staging/pipe-through.ts).
import { PassThrough, Readable, Writable } from 'node:stream'
import t from 'tap'
import { pipeThrough } from '../../src/staging/pipe-through.js'

/** A sink that keeps what it is given, after `take` (the meter's place in the file writer) has seen it. */
const collector = (take: (chunk: Buffer) => void = () => undefined) => {
  const chunks: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      try {
        take(chunk)
      } catch (err) {
        return done(err as Error)
      }
      chunks.push(chunk)
      done()
    }
  })
  return { sink, text: () => Buffer.concat(chunks).toString() }
}

t.test('every byte reaches the sink, from a stream or an async iterable; it resolves once the sink has finished', async (t) => {
  const a = collector()
  await pipeThrough(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), a.sink)
  t.equal(a.text(), 'abcd')
  t.ok(a.sink.writableFinished)
  const b = collector()
  async function* parts() {
    yield Buffer.from('x')
    yield Buffer.from('y')
  }
  await pipeThrough(parts(), b.sink)
  t.equal(b.text(), 'xy')
})

t.test('the first error rejects, and destroys both streams with it', async (t) => {
  const cases = {
    'the body fails': () => {
      const body = new PassThrough()
      setImmediate(() => body.destroy(new Error('socket reset')))
      return { body, sink: collector().sink, expected: 'socket reset' }
    },
    'the meter refuses': () => ({
      body: Readable.from([Buffer.from('fits'), Buffer.from('too long')]),
      sink: collector((chunk) => {
        if (chunk.length > 4) throw new Error('longer than declared')
      }).sink,
      expected: 'longer than declared'
    }),
    'the file fails': () => ({
      body: Readable.from([Buffer.from('x')]),
      sink: new Writable({ write: (_c, _e, done) => done(Object.assign(new Error('no space'), { code: 'ENOSPC' })) }),
      expected: 'no space'
    })
  }
  const unexpected: unknown[] = []
  const onUncaught = (err: unknown) => unexpected.push(err)
  process.on('uncaughtException', onUncaught)
  t.teardown(() => process.off('uncaughtException', onUncaught))
  for (const [name, make] of Object.entries(cases)) {
    const { body, sink, expected } = make()
    await t.rejects(pipeThrough(body, sink), { message: expected }, name)
    t.ok(body.destroyed && sink.destroyed, `${name}: both destroyed`)
  }
  await new Promise((resolve) => setImmediate(resolve))
  t.same(unexpected, [], 'no error goes unheard afterwards')
})

t.test('a body closed before its end is a premature close, not a success', async (t) => {
  const body = new PassThrough()
  body.write('half')
  setImmediate(() => body.destroy())
  const { sink } = collector()
  await t.rejects(pipeThrough(body, sink), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
  t.notOk(sink.writableFinished, 'the sink never finished')
})
