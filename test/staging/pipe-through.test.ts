// The draft's body → meter → file: pipeline's semantics without pipeline (src/staging/pipe-through.ts).
import { PassThrough, Readable, Transform, Writable } from 'node:stream'
import t from 'tap'
import { pipeThrough } from '../../src/staging/pipe-through.js'

const collector = () => {
  const chunks: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      chunks.push(chunk)
      done()
    }
  })
  return { sink, text: () => Buffer.concat(chunks).toString() }
}

const upper = () => new Transform({ transform: (chunk: Buffer, _e, done) => done(null, Buffer.from(chunk.toString().toUpperCase())) })

t.test('every byte reaches the sink, from a stream or an async iterable; it resolves once the sink has finished', async (t) => {
  const a = collector()
  await pipeThrough(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), upper(), a.sink)
  t.equal(a.text(), 'ABCD')
  t.ok(a.sink.writableFinished)
  const b = collector()
  async function* parts() {
    yield Buffer.from('x')
    yield Buffer.from('y')
  }
  await pipeThrough(parts(), upper(), b.sink)
  t.equal(b.text(), 'XY')
})

t.test('the first error rejects, and destroys every stream with it', async (t) => {
  const cases = {
    'the body fails': () => {
      const body = new PassThrough()
      setImmediate(() => body.destroy(new Error('socket reset')))
      return { body, through: upper(), sink: collector().sink, expected: 'socket reset' }
    },
    'the meter refuses': () => ({
      body: Readable.from([Buffer.from('too long')]),
      through: new Transform({ transform: (_c, _e, done) => done(new Error('longer than declared')) }),
      sink: collector().sink,
      expected: 'longer than declared'
    }),
    'the file fails': () => ({
      body: Readable.from([Buffer.from('x')]),
      through: upper(),
      sink: new Writable({ write: (_c, _e, done) => done(Object.assign(new Error('no space'), { code: 'ENOSPC' })) }),
      expected: 'no space'
    })
  }
  const unexpected: unknown[] = []
  const onUncaught = (err: unknown) => unexpected.push(err)
  process.on('uncaughtException', onUncaught)
  t.teardown(() => process.off('uncaughtException', onUncaught))
  for (const [name, make] of Object.entries(cases)) {
    const { body, through, sink, expected } = make()
    await t.rejects(pipeThrough(body, through, sink), { message: expected }, name)
    t.ok(body.destroyed && through.destroyed && sink.destroyed, `${name}: all three destroyed`)
  }
  await new Promise((resolve) => setImmediate(resolve))
  t.same(unexpected, [], 'no error goes unheard afterwards')
})

t.test('a body closed before its end is a premature close, not a success', async (t) => {
  const body = new PassThrough()
  body.write('half')
  setImmediate(() => body.destroy())
  const { sink } = collector()
  await t.rejects(pipeThrough(body, upper(), sink), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
  t.notOk(sink.writableFinished, 'the sink never finished')
})
