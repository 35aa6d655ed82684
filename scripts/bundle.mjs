// The production entry points as bundles: dist/server.js and dist/cli.js with their dependencies in
// one file each (chunks shared between them, and the lazily loaded shared engine, in dist/chunks).
// Loading ~700 module files took ~500 ms of every start; the bundle loads in about half that
// (README: Performance). `tsc` has already type-checked and emitted dist/; this replaces its two entries.
// Left external: packages that read files next to their own sources (swagger's package.json and UI
// assets) and pino, whose transports start worker files by path.
// `--outdir DIR` writes elsewhere (the production-bundle test does).
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } })

await build({
  absWorkingDir: root,
  entryPoints: ['src/server.ts', 'src/cli.ts'],
  outdir: values.outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  external: ['@fastify/swagger', '@fastify/swagger-ui', 'pino', 'pino-pretty', 'thread-stream'],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  logLevel: 'warning'
})
