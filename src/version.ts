// The package version, from the nearest package.json of this package above this file (one directory
// above src/ and dist/, and in the image; further up when the code is bundled elsewhere, as tests do).
import { readFileSync } from 'node:fs'
import { z } from 'zod'

const packageJson = z.object({ name: z.string().optional(), version: z.string() })
const PACKAGE_NAME = 'apex-staging'

export function readPackageVersion(from: URL = new URL('.', import.meta.url)): string {
  for (let dir = new URL('../', from); ; dir = new URL('../', dir)) {
    try {
      // Another package.json on the way (dist/package.json only sets the module type) is passed by.
      const pkg = packageJson.safeParse(JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')))
      if (pkg.success && pkg.data.name === PACKAGE_NAME) return pkg.data.version
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    if (dir.pathname === '/') throw new Error(`no package.json of ${PACKAGE_NAME} above ${from.pathname}`)
  }
}

/** Read once at load: the file does not change while the process runs. */
export const PACKAGE_VERSION = readPackageVersion()
