// The record's fixed vocabularies and the item id pattern, without the schema (record.ts): the
// start-up's head start (early-start.ts) lists the tree with these before zod is even loaded.
export const SOURCES = ['frontapp', 'samsara', 'turvo', 'local_upload', 'http', 'https'] as const
export const STATUSES = ['active', 'success', 'failed'] as const
export const KINDS = ['document', 'structured'] as const

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
