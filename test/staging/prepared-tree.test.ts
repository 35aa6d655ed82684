// The head start of the process entry (src/staging/prepared-tree.ts): the tree is taken, .tmp cleared
// and the metadata read before the app exists. The app's first start must then serve exactly what a
// plain start serves, and an app that never starts must give the tree back.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { SNAPSHOT_FILE } from '../../src/staging/index-snapshot.js'
import { PreparedTree } from '../../src/staging/prepared-tree.js'
import { TreeLock, TreeLockedError } from '../../src/staging/tree-lock.js'
import { buildTestApp, tempDir, upload, type TapLike, type TestApp } from '../helper.js'

async function view(app: TestApp['app']) {
  return {
    stats: (await app.inject({ method: 'GET', url: '/v1/stats' })).json(),
    list: (await app.inject({ method: 'GET', url: '/v1/staging?limit=1000' })).json()
  }
}

/** A tree of 12 items written by an app that then stopped; `view` is what that app served. */
async function stoppedTree(t: TapLike) {
  const baseDir = await tempDir(t)
  const first = await buildTestApp(t, { STAGING_BASE_DIR: baseDir })
  for (let i = 0; i < 12; i++) await upload(first.app, `P-${i}`, `content-${i}`, { source: i % 3 ? 'http' : 'frontapp' })
  await first.app.inject({ method: 'PATCH', url: '/v1/staging/http/P-1', payload: { status: 'failed', error: 'x' } })
  const before = await view(first.app)
  await first.app.close()
  return { baseDir, before }
}

t.test('a prepared tree serves the first start exactly as a plain start does, and is held from the moment it is prepared', async (t) => {
  const { baseDir, before } = await stoppedTree(t)
  await rm(join(baseDir, SNAPSHOT_FILE))
  // What a crash mid-overwrite leaves: the old item parked in .tmp. The prepare must restore it before it lists the tree.
  await rename(join(baseDir, 'http', 'P-2'), join(baseDir, '.tmp', 'old~http~P-2'))
  await mkdir(join(baseDir, 'frontapp', 'BROKEN'))
  await writeFile(join(baseDir, 'frontapp', 'BROKEN', '.metadata.json'), '{ not json')

  // Reader threads even for this small tree, so that their path is the one tested.
  const prepared = await PreparedTree.prepare(baseDir, { parallelMinItems: 0 })
  await t.rejects(TreeLock.acquire(baseDir), TreeLockedError, 'the tree is taken before any app exists')

  const second = await buildTestApp(t, { STAGING_BASE_DIR: baseDir }, { preparedTree: prepared })
  t.same(await view(second.app), before, 'the same stats, records and order as the app that wrote them')
  const load = second.app.staging.store.lastLoad
  t.equal(load?.from, 'tree')
  t.equal(load?.items, 12, 'the parked item is back')
  t.same(load?.orphans, ['frontapp/BROKEN'], 'what is not an item is still an orphan')
  t.equal(prepared.take(), null, 'handed over once')
  await second.app.close()
  const lock = await TreeLock.acquire(baseDir)
  await lock.release()
  t.pass('the store released the lock it was handed')
})

t.test('with a snapshot on disk the prepare reads nothing, and the start loads the snapshot', async (t) => {
  const { baseDir, before } = await stoppedTree(t)
  const prepared = await PreparedTree.prepare(baseDir, { parallelMinItems: 0 })
  const second = await buildTestApp(t, { STAGING_BASE_DIR: baseDir }, { preparedTree: prepared })
  t.equal(second.app.staging.store.lastLoad?.from, 'snapshot')
  t.same(await view(second.app), before)
})

t.test('a prepared tree that is never used gives the tree back', async (t) => {
  const { baseDir } = await stoppedTree(t)
  await rm(join(baseDir, SNAPSHOT_FILE))
  const config = loadConfig({ LOG_LEVEL: 'silent', STAGING_BASE_DIR: baseDir })

  await t.test('released by hand', async (t) => {
    const prepared = await PreparedTree.prepare(baseDir, { parallelMinItems: 0 })
    await prepared.release()
    t.equal(prepared.take(), null, 'nothing left to hand over')
    const lock = await TreeLock.acquire(baseDir)
    await lock.release()
  })

  await t.test('by an app closed before it was ready', async (t) => {
    const prepared = await PreparedTree.prepare(baseDir, { parallelMinItems: 0 })
    const app = await buildApp(config, { logger: pino({ level: 'silent' }), schedule: false, preparedTree: prepared })
    await app.close()
    const lock = await TreeLock.acquire(baseDir)
    await lock.release()
    t.pass('the lock is free again')
  })

  await t.test('by a start on another directory, which refuses it', async (t) => {
    const prepared = await PreparedTree.prepare(baseDir, { parallelMinItems: 0 })
    const elsewhere = loadConfig({ LOG_LEVEL: 'silent', STAGING_BASE_DIR: await tempDir(t) })
    await t.rejects(buildApp(elsewhere, { logger: pino({ level: 'silent' }), schedule: false, preparedTree: prepared }), /cannot serve a store at/)
    await prepared.release()
    const lock = await TreeLock.acquire(baseDir)
    await lock.release()
  })

  await t.test('a second prepare while the first holds the tree is refused', async (t) => {
    const prepared = await PreparedTree.prepare(baseDir, { parallelMinItems: 0 })
    await t.rejects(PreparedTree.prepare(baseDir), TreeLockedError)
    await prepared.release()
  })
})
