// The source of a pull benchmark: a file of patterned bytes, served by a loopback HTTP server in
// its own process, so that it competes with neither contestant's event loop.
import { spawn, type ChildProcess } from 'node:child_process'
import { open } from 'node:fs/promises'

const MIB = 1024 * 1024

const FILE_SERVER = `
const http = require('node:http'), fs = require('node:fs')
const [file, size] = process.argv.slice(1)
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
  fs.createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(res)
}).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n') })
`

/** Writes `size` bytes of a fixed pattern to `path`, fsynced. */
export async function writeSource(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w')
  const block = Buffer.alloc(8 * MIB)
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i)
  for (let done = 0; done < size; done += block.length) await handle.write(block, 0, Math.min(block.length, size - done))
  await handle.sync()
  await handle.close()
}

/** Serves `path` (of `size` bytes) at any URL of the returned port; the caller kills `child`. */
export async function serveSource(path: string, size: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', FILE_SERVER, path, String(size)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<string>((resolve, reject) => {
    child.once('error', reject)
    child.stdout!.once('data', (c: Buffer) => resolve(c.toString().trim()))
  })
  return { child, port: Number(port) }
}
