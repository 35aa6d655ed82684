// One test app per storage engine: `local` over a temp tree, `shared` over a fresh PostgreSQL
// database and a loopback s3rver bucket. The conformance suite runs every case against both.
import { STORAGE_ENGINES, type StorageEngineName } from '../../src/staging/engine.js'
import { buildTestApp, type TapLike, type TestApp } from '../helper.js'
import { sharedBackends } from './shared/backends.js'

export const ENGINES = STORAGE_ENGINES

export async function engineApp(t: TapLike, engine: StorageEngineName, env: Record<string, string> = {}): Promise<TestApp> {
  const engineEnv = engine === 'shared' ? (await sharedBackends(t)).env : {}
  return buildTestApp(t, { ...engineEnv, ...env })
}
