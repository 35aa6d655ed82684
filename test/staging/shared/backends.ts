// Real backends for the shared engine: a throw-away PostgreSQL database on the local server
// (127.0.0.1:5432, dropped at teardown) and an s3rver S3 server on a loopback port with its own
// temp directory. s3rver 3.7 lacks ListMultipartUploads and AbortMultipartUpload.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import S3rver from 's3rver'
import type { TapLike } from '../../helper.js'

export const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test'
export const BUCKET = 'apex-staging-test'

export interface SharedBackends {
  databaseUrl: string
  s3Endpoint: string
  s3Dir: string
  /** The env that selects the shared engine on these backends. */
  env: Record<string, string>
  /** Child processes need the credentials the AWS chain reads. */
  awsEnv: Record<string, string>
}

/** A database of its own for this test run; dropped (with any connection left) at teardown. */
export async function createDatabase(t: TapLike): Promise<string> {
  const name = `apex_i11_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: ADMIN_URL })
    await c.connect()
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    } finally {
      await c.end()
    }
  })
  return `postgres://postgres@127.0.0.1:5432/${name}`
}

export async function startS3(t: TapLike): Promise<{ endpoint: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 's3rver-'))
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET, configs: [] }] })
  const { port } = await server.run()
  t.teardown(async () => {
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })
  return { endpoint: `http://127.0.0.1:${port}`, dir }
}

export async function sharedBackends(t: TapLike): Promise<SharedBackends> {
  const awsEnv = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
  // The SDK's default credential chain reads these; s3rver accepts only its own key pair.
  Object.assign(process.env, awsEnv)
  const s3 = await startS3(t)
  const databaseUrl = await createDatabase(t)
  return {
    databaseUrl,
    s3Endpoint: s3.endpoint,
    s3Dir: s3.dir,
    awsEnv,
    env: { STAGING_STORAGE: 'shared', DATABASE_URL: databaseUrl, S3_BUCKET: BUCKET, S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true' }
  }
}
