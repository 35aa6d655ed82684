// Builds the structured stager with its upstream clients from the config (one set per app instance).
import type { Config } from '../config.js'
import { AppError } from '../errors.js'
import type { StagingObserver } from '../staging/observer.js'
import type { StagingStore } from '../staging/store.js'
import { StructuredStager, type JsonSource } from './structured-stager.js'

export { StructuredStager }

const notYet = (name: string): JsonSource => ({
  fetchJson: async () => {
    throw new AppError('SourceNotAllowed', `${name} fetches are not enabled in this build`)
  }
})

export function createStructuredStager(_config: Config, store: StagingStore, observer: StagingObserver): StructuredStager {
  return new StructuredStager({ store, observer, sources: { samsara: notYet('samsara'), turvo: notYet('turvo') } })
}
