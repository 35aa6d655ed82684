// Paths packed for worker threads: a list packed from its names alone must give back every whole
// path, ASCII or not (the readers put each path together from its head, name and tail bytes).
import t from 'tap'
import { packPathListShared, pathListShared, type SharedPathList } from '../../src/staging/packed-paths.js'

/** Every path of a list, put together as a reader does, from the bytes. */
const pathsOf = (list: SharedPathList) => {
  const names = Buffer.from(list.names)
  return Array.from(list.ends, (end, i) =>
    Buffer.concat([Buffer.from(list.heads[list.headAt[i]!]!), names.subarray(i > 0 ? list.ends[i - 1] : 0, end), Buffer.from(list.tail)]).toString('utf8')
  )
}

t.test('a list packed from heads, names and a tail gives back the whole paths, in order', async (t) => {
  const cases: Record<string, { dirs: string[]; names: string[][] }> = {
    ascii: { dirs: ['/base/frontapp', '/base/http', '/base/turvo'], names: [['A-1', 'B-22'], [], ['Z.z_9']] },
    'names not ASCII': { dirs: ['/base/http', '/base/https'], names: [['dóc-1', 'plain'], ['目录-✓']] },
    'a directory not ASCII': { dirs: ['/bäse ✓/http', '/base/https'], names: [['a', 'bb'], ['ccc']] },
    empty: { dirs: ['/base/http'], names: [[]] }
  }
  for (const [name, { dirs, names }] of Object.entries(cases)) {
    const whole = dirs.flatMap((dir, d) => names[d]!.map((item) => `${dir}/${item}/.metadata.json`))
    const list = packPathListShared(
      dirs.map((dir) => `${dir}/`),
      names.map((group) => group.length),
      names.flat(),
      '/.metadata.json'
    )
    t.same(pathsOf(list), whole, `${name}: the paths`)
    t.equal(list.names.byteLength, Buffer.byteLength(names.flat().join('')), `${name}: only the names are packed`)
  }
  const paths = ['/a/b', '/dïr ✓/c', '']
  t.same(pathsOf(pathListShared(paths)), paths, 'whole paths as a list of their own')
  t.throws(() => packPathListShared(new Array<string>(257).fill('/h/'), new Array<number>(257).fill(0), [], ''), RangeError, 'at most 256 heads')
})
