// Streams a 1 GiB multipart upload into the built server and samples its resident memory.
// Usage: npm run build && node --import tsx bench/upload-memory.ts [MiB]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../test/helper.js'
import { memoryOf } from './process-memory.js'

const MIB = 1024 * 1024


export async function uploadMemory(mib = 1024): Promise<{ mib: number; seconds: number; peakRssMb: number; idleRssMb: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-upload-'))
  const port = await freePort()
  const child = spawn(process.execPath, ['dist/server.js'], {
    env: { ...process.env, STAGING_BASE_DIR: dir, PORT: String(port), LOG_LEVEL: 'warn', STAGING_MAX_DOCUMENT_MB: String(mib + 16), STAGING_MAX_SIZE_GB: String(mib / 1024 + 1) },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  try {
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)
      if (ok) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const idle = memoryOf(child.pid as number).rss
    let peak = idle
    const sampler = setInterval(() => {
      peak = Math.max(peak, memoryOf(child.pid as number).rss)
    }, 50)

    const boundary = 'bench-boundary'
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="document_id"\r\n\r\nBIG-1\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
    )
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
    const chunk = Buffer.alloc(MIB, 0x5a)
    const started = process.hrtime.bigint()
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/documents',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + mib * MIB + tail.length }
    })
    const response = once(req, 'response')
    req.write(head)
    for (let i = 0; i < mib; i++) {
      if (!req.write(chunk)) await once(req, 'drain')
    }
    req.end(tail)
    const [res] = (await response) as [import('node:http').IncomingMessage]
    let body = ''
    for await (const part of res) body += part
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    clearInterval(sampler)
    if (res.statusCode !== 201) throw new Error(`upload answered ${res.statusCode}: ${body}`)
    const hwm = memoryOf(child.pid as number).hwm
    return { mib, seconds, peakRssMb: Math.max(peak, hwm) / MIB, idleRssMb: idle / MIB }
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mib = Number(process.argv[2] ?? 1024)
  const r = await uploadMemory(mib)
  console.log(
    `upload ${r.mib} MiB: ${r.seconds.toFixed(2)} s (${(r.mib / r.seconds).toFixed(0)} MiB/s), ` +
      `server RSS idle ${r.idleRssMb.toFixed(0)} MB, peak ${r.peakRssMb.toFixed(0)} MB`
  )
}
