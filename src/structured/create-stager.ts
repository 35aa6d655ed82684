// Builds the structured stager with its Samsara and Turvo clients on the shared upstream client.
import type { Config } from '../config.js'
import type { StagingObserver } from '../staging/observer.js'
import type { StagingEngine } from '../staging/engine.js'
import type { JsonGetter } from '../upstream/json-getter.js'
import { SamsaraClient } from '../upstream/samsara.js'
import { TurvoClient } from '../upstream/turvo.js'
import { StructuredStager } from './structured-stager.js'

export { StructuredStager }

export function createStructuredStager(config: Config, engine: StagingEngine, observer: StagingObserver, http: JsonGetter): StructuredStager {
  const maxBytes = config.maxDocumentBytes
  return new StructuredStager({
    engine,
    observer,
    sources: {
      samsara: new SamsaraClient({ baseUrl: config.samsara.baseUrl, apiToken: config.samsara.apiToken, http, maxBytes }),
      turvo: new TurvoClient({ baseUrl: config.turvo.baseUrl, apiToken: config.turvo.apiToken, apiKey: config.turvo.apiKey, http, maxBytes })
    }
  })
}
