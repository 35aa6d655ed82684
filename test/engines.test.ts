// The Node versions we state are true: package.json engines covers what every locked package asks for
// (but two, named and explained in the README), this Node satisfies it, and so does the Docker image.
import { readFile } from 'node:fs/promises'
import semver from 'semver'
import t from 'tap'

const read = (path: string) => readFile(new URL(`../${path}`, import.meta.url), 'utf8')
const pkg = JSON.parse(await read('package.json')) as { engines: { node: string } }
const lock = JSON.parse(await read('package-lock.json')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> }
/** Declare Node >= 22 but are plain JavaScript that the suite runs on Node 20 (README, "Node.js"). */
const DECLARE_22_RUN_ON_20 = ['cookie', 'content-disposition']

t.test('the engines minimum satisfies every locked package\'s own engines.node', async (t) => {
  const minimum = semver.minVersion(pkg.engines.node)?.version as string
  t.ok(minimum, `engines.node ${pkg.engines.node} has a minimum`)
  const unmet: string[] = []
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined
    if (!path || !range || !semver.validRange(range)) continue
    const name = path.replace(/.*node_modules\//, '')
    if (!semver.satisfies(minimum, range) && !DECLARE_22_RUN_ON_20.includes(name)) unmet.push(`${name}@${entry.version}: ${range}`)
  }
  t.same(unmet, [], `Node ${minimum} satisfies them all`)
})

t.test('the Node running the tests, the README and the Docker image agree with engines', async (t) => {
  t.ok(semver.satisfies(process.version, pkg.engines.node), `${process.version} satisfies ${pkg.engines.node}`)
  const minimum = semver.minVersion(pkg.engines.node)?.version as string
  t.match(await read('README.md'), `Node.js ${minimum} or later`)
  const images = [...(await read('Dockerfile')).matchAll(/^FROM node:(\d+)/gm)].map((m) => `${m[1]}.99.0`)
  t.ok(images.length > 0)
  for (const image of images) t.ok(semver.satisfies(image, pkg.engines.node), `node:${image.split('.')[0]} satisfies engines`)
})
