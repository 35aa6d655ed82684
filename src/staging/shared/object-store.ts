// The shared engine's bytes: objects in an S3-compatible bucket through @aws-sdk/client-s3 (credentials
// from the standard AWS chain) and @aws-sdk/lib-storage (streaming multipart uploads). Every item
// version has its own key under blobs/, so an overwrite never exposes a half-written object.
import { randomUUID } from 'node:crypto'
import { PassThrough, type Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { AppError } from '../../errors.js'

export const BLOB_PREFIX = 'blobs/'
/** Parts of 8 MiB, two in flight: an upload holds at most ~16 MiB whatever the item's size. */
const PART_SIZE = 8 * 1024 * 1024
const QUEUE_SIZE = 2

export interface ObjectStoreOptions {
  bucket: string
  endpoint: string
  region: string
  forcePathStyle: boolean
}

export interface StoredObject {
  key: string
  lastModified: number
}

export class ObjectStore {
  readonly client: S3Client

  constructor(readonly options: ObjectStoreOptions) {
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      // Checksums only where S3 requires them: many S3-compatible servers reject the newer defaults.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED'
    })
  }

  get bucket(): string {
    return this.options.bucket
  }

  newKey(): string {
    return `${BLOB_PREFIX}${randomUUID()}`
  }

  locationOf(key: string): string {
    return `s3://${this.bucket}/${key}`
  }

  /** The object key of a location made by locationOf, or null for anything else. */
  keyOf(location: string): string | null {
    const prefix = `s3://${this.bucket}/${BLOB_PREFIX}`
    return location.startsWith(prefix) ? location.slice(prefix.length - BLOB_PREFIX.length) : null
  }

  /**
   * Streams `body` to `key` as it is read (multipart past one part). Resolves once the object is
   * complete; on failure the multipart upload is aborted by lib-storage and the error rethrown.
   */
  async upload(key: string, pipeInto: (out: PassThrough) => Promise<void>): Promise<void> {
    const out = new PassThrough({ highWaterMark: 1024 * 1024 })
    const upload = new Upload({ client: this.client, params: { Bucket: this.bucket, Key: key, Body: out }, partSize: PART_SIZE, queueSize: QUEUE_SIZE })
    // If S3 fails first, stop the incoming stream instead of waiting on a pipe nobody reads.
    const done = upload.done().catch((err: unknown) => {
      out.destroy(err as Error)
      throw err
    })
    try {
      await pipeInto(out)
    } catch (err) {
      await upload.abort().catch(() => undefined)
      const failure = await done.then(() => null, (e: unknown) => e)
      // The caller's stream errors (quota, a client gone) pass as they are; storage errors are ours.
      throw err === failure ? storageError(err) : err
    }
    await done.catch((err: unknown) => {
      throw storageError(err)
    })
  }

  /** Bytes start..end (inclusive) of an object; NotFound when it is gone. */
  async readRange(key: string, start: number, end: number, what: string): Promise<Readable> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end}` }))
      return res.Body as Readable
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)) {
        throw new AppError('NotFound', `no item ${what}`)
      }
      throw new AppError('StagingError', 'could not read the item from object storage', { cause: err })
    }
  }

  /** Deletes objects in batches of 1000; returns the keys S3 could not delete. */
  async remove(keys: string[]): Promise<string[]> {
    const failed: string[] = []
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000)
      try {
        const res = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }))
        for (const e of res.Errors ?? []) if (e.Key) failed.push(e.Key)
      } catch {
        failed.push(...batch)
      }
    }
    return failed
  }

  /** Every object under blobs/, page by page. */
  async *listBlobs(): AsyncGenerator<StoredObject[]> {
    let token: string | undefined
    do {
      const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: BLOB_PREFIX, ContinuationToken: token }))
      yield (res.Contents ?? []).filter((o) => o.Key).map((o) => ({ key: o.Key as string, lastModified: o.LastModified?.getTime() ?? 0 }))
      token = res.IsTruncated ? res.NextContinuationToken : undefined
    } while (token)
  }

  /**
   * Multipart uploads under blobs/ started before `before`, or null when the server does not
   * implement ListMultipartUploads (s3rver, for one).
   */
  async staleMultipartUploads(before: number): Promise<{ key: string; uploadId: string }[] | null> {
    const stale: { key: string; uploadId: string }[] = []
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    try {
      do {
        const res = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: BLOB_PREFIX, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }))
        for (const u of res.Uploads ?? []) {
          if (u.Key && u.UploadId && (u.Initiated?.getTime() ?? 0) <= before) stale.push({ key: u.Key, uploadId: u.UploadId })
        }
        keyMarker = res.IsTruncated ? res.NextKeyMarker : undefined
        uploadIdMarker = res.IsTruncated ? res.NextUploadIdMarker : undefined
      } while (keyMarker)
    } catch (err) {
      if (err instanceof S3ServiceException && err.name === 'NotImplemented') return null
      throw err
    }
    return stale
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
  }

  async bucketReachable(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }))
      return true
    } catch {
      return false
    }
  }

  close(): void {
    this.client.destroy()
  }
}

function storageError(err: unknown): AppError {
  return new AppError('StagingError', 'writing the item to object storage failed', { cause: err })
}
