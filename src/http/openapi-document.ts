// Whole-document finishing touches after the routes are converted.
type Doc = Record<string, unknown>
export function finishDocument(doc: Doc): Doc {
  return doc
}
