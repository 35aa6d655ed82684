// Paths packed for worker threads: the item paths packed from their names alone must be byte for
// byte what packing every whole path gives, ASCII or not.
import t from 'tap'
import { packItemPathsShared, packPathsShared } from '../../src/staging/packed-paths.js'

const decode = (packed: { bytes: SharedArrayBuffer; ends: Int32Array }) => {
  const bytes = Buffer.from(packed.bytes)
  return Array.from(packed.ends, (end, i) => bytes.toString('utf8', i > 0 ? packed.ends[i - 1] : 0, end))
}

t.test('item paths packed from their names are the whole paths, in order', async (t) => {
  const cases: Record<string, { dirs: string[]; names: string[][] }> = {
    ascii: { dirs: ['/base/frontapp', '/base/http', '/base/turvo'], names: [['A-1', 'B-22'], [], ['Z.z_9']] },
    'names not ASCII': { dirs: ['/base/http', '/base/https'], names: [['dóc-1', 'plain'], ['目录-✓']] },
    'a directory not ASCII': { dirs: ['/bäse ✓/http', '/base/https'], names: [['a', 'bb'], ['ccc']] },
    empty: { dirs: ['/base/http'], names: [[]] }
  }
  for (const [name, { dirs, names }] of Object.entries(cases)) {
    const whole = dirs.flatMap((dir, d) => names[d]!.map((item) => `${dir}/${item}/.metadata.json`))
    const packed = packItemPathsShared(dirs, names, '.metadata.json')
    t.same(decode(packed), whole, `${name}: the paths`)
    const reference = packPathsShared(whole)
    t.same(Buffer.from(packed.bytes), Buffer.from(reference.bytes), `${name}: the same bytes as the whole paths packed`)
    t.same(Array.from(packed.ends), Array.from(reference.ends), `${name}: the same ends`)
  }
})
