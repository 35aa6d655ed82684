// `npm run bench [name]`: runs every benchmark in turn (or the one named); add a new one to the list below.
import { eventsOverhead } from './events-overhead.js'
import { pullThroughput } from './pull-throughput.js'
import { restart } from './restart.js'
import { sideBySide } from './side-by-side.js'
import { sharedEngineReport } from './shared-engine.js'
import { statsScaling } from './stats-scaling.js'
import { uploadMemory } from './upload-memory.js'

async function uploadMemoryReport(): Promise<void> {
  const r = await uploadMemory(1024)
  console.log(
    `upload ${r.mib} MiB: ${r.seconds.toFixed(2)} s (${(r.mib / r.seconds).toFixed(0)} MiB/s), ` +
      `server RSS idle ${r.idleRssMb.toFixed(0)} MB, peak ${r.peakRssMb.toFixed(0)} MB (limit 150 MB)`
  )
}

async function statsScalingReport(): Promise<void> {
  for (const count of [1000, 100_000]) {
    const r = await statsScaling(count)
    console.log(
      `${r.count} items: start-up load ${r.loadMs.toFixed(0)} ms, GET /v1/stats ${r.statsUs.toFixed(0)} µs/request, ` +
        `filtered list page ${r.listUs.toFixed(0)} µs/request`
    )
  }
}

const benchmarks: { name: string; run: () => Promise<void> }[] = [
  // First: the one table of every case with its peers (nginx, @tus/server, curl, rm -rf, dd) from one run.
  { name: 'side-by-side', run: () => sideBySide() },
  { name: 'upload-memory', run: uploadMemoryReport },
  { name: 'stats-scaling', run: statsScalingReport },
  { name: 'restart', run: () => restart() },
  { name: 'pull-throughput', run: pullThroughput },
  { name: 'shared-engine', run: sharedEngineReport },
  { name: 'events-overhead', run: () => eventsOverhead() }
]

const only = process.argv[2]
for (const bench of benchmarks) {
  if (only && bench.name !== only) continue
  console.log(`\n== ${bench.name}`)
  await bench.run()
}
