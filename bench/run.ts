// `npm run bench`: runs every benchmark in turn; add a new one to the list below.
import { pullThroughput } from './pull-throughput.js'

const benchmarks: { name: string; run: () => Promise<void> }[] = [{ name: 'pull-throughput', run: pullThroughput }]

const only = process.argv[2]
for (const bench of benchmarks) {
  if (only && bench.name !== only) continue
  console.log(`\n== ${bench.name}`)
  await bench.run()
}
