// The package version, from package.json (one directory above src/ and dist/ alike, and in the image).
import { readFileSync } from 'node:fs'
import { z } from 'zod'

const packageJson = z.object({ version: z.string() })

export function readPackageVersion(): string {
  return packageJson.parse(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))).version
}

/** Read once at load: the file does not change while the process runs. */
export const PACKAGE_VERSION = readPackageVersion()
