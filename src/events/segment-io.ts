// Positioned writes, zero-filling and fdatasync of a segment's descriptor, on the thread pool.
import { fdatasync, write } from 'node:fs'

const ZERO_CHUNK = 1024 * 1024

export function writeAt(fd: number, data: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number) =>
      write(fd, data, offset, data.length - offset, position + offset, (err, n) => {
        if (err) return reject(err)
        if (offset + n < data.length) return step(offset + n)
        resolve()
      })
    step(0)
  })
}

/** Writes zeros over [from, to): real blocks, so later in-place writes change no file metadata. */
export async function zeroFill(fd: number, from: number, to: number): Promise<void> {
  const zeros = Buffer.alloc(Math.min(ZERO_CHUNK, Math.max(0, to - from)))
  for (let at = from; at < to; at += zeros.length) await writeAt(fd, zeros.subarray(0, Math.min(zeros.length, to - at)), at)
}

export function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())))
}
