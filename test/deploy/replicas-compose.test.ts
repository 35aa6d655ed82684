// The compose "shared" profile (two replicas, PostgreSQL, MinIO, nginx) agrees with itself and with
// the config schema: no Docker engine runs here, so its wiring is checked by reading it.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { envSchema } from '../../src/config.js'
import { REPO_ROOT } from '../prometheus/binaries.js'

interface Service {
  image?: string
  profiles?: string[]
  environment?: Record<string, string>
  entrypoint?: string[]
  depends_on?: Record<string, { condition: string }> | string[]
  volumes?: string[]
}

t.test('two shared-engine replicas behind nginx, on PostgreSQL and MinIO', async (t) => {
  const compose = parse(await readFile(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> }
  const shared = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('shared'))
  t.same(shared.map(([name]) => name).sort(), ['lb', 'minio', 'minio-bucket', 'postgres', 'staging-a', 'staging-b'])

  for (const name of ['staging-a', 'staging-b']) {
    const env = compose.services[name]?.environment ?? {}
    t.equal(env.STAGING_STORAGE, 'shared', `${name} runs the shared engine`)
    t.match(env.DATABASE_URL, /^postgres:\/\/staging:.*@postgres:5432\/staging$/, `${name} uses the compose PostgreSQL`)
    t.equal(env.S3_ENDPOINT, 'http://minio:9000')
    t.equal(env.S3_FORCE_PATH_STYLE, 'true')
    const unknown = Object.keys(env).filter((k) => !(k in envSchema.shape) && !k.startsWith('AWS_'))
    t.same(unknown, [], `${name} sets only settings the service reads`)
    t.same(Object.keys(compose.services[name]?.depends_on ?? {}).sort(), ['minio-bucket', 'postgres'])
  }
  const bucket = compose.services['staging-a']?.environment?.S3_BUCKET
  t.match(compose.services['minio-bucket']?.entrypoint?.join(' '), `mc mb --ignore-existing store/${bucket}`, 'the bucket the replicas use is created')

  const lbVolume = compose.services.lb?.volumes?.[0] ?? ''
  const nginx = await readFile(join(REPO_ROOT, lbVolume.split(':')[0] ?? ''), 'utf8')
  t.match(nginx, /server staging-a:8080/)
  t.match(nginx, /server staging-b:8080/)
  t.match(nginx, /proxy_request_buffering off;/, 'uploads stream through the balancer')
  t.match(nginx, /client_max_body_size 0;/, 'the service, not nginx, enforces the size cap')
})
