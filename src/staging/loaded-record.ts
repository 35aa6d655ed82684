// An item as the start-up load left it in the index: the few fields the index, its totals, the sweep
// and the file check use, and its metadata text as it was read (bytes of a reader's chunk, outside the JS
// heap); the whole record is parsed the first time something asks for it (ItemIndex.get, list).
// A start from the index snapshot keeps its rows the same way (index-snapshot.ts).
//
// Why: at 100k items the load's parsed records (a dozen strings each) were ~100 MiB of heap that the
// young-generation GC copied, and copied again into the old generation, on the main thread while
// the service was starting. A record is parsed and checked at load all the same (an invalid one is
// an orphan, and the totals count only items); only keeping it waits. Only records that the load's
// own check accepted as they are (isPlainRecord) are kept this way: parsing their text again gives
// the same record, which zod's output is not guaranteed to be.
import type { ItemRecord, Kind, Source, Status } from './record.js'

/** A kept text back into its record. */
export type RecordDecoder = (text: string) => ItemRecord

/** A .metadata.json's text: the record itself. */
const decodeMetadata: RecordDecoder = (text) => JSON.parse(text) as ItemRecord

/** What the index's totals and the file check read of an item, whether loaded or whole. */
export type IndexedFields = Pick<ItemRecord, 'source' | 'document_id' | 'status' | 'kind' | 'file_size_bytes' | 'file_path' | 'updated_at' | 'expires_at'>

export class LoadedRecord implements IndexedFields {
  constructor(
    readonly source: Source,
    readonly document_id: string,
    readonly status: Status,
    readonly kind: Kind,
    readonly file_size_bytes: number,
    /** What the sweep decides on, and the event recovery after a crash looks for. */
    readonly updated_at: string,
    readonly expires_at: string | null,
    /** `{base}/{source}`: shared by every item of the source. */
    private readonly sourceDir: string,
    private readonly filename: string,
    /** A reader's chunk (or the snapshot file), shared by the items read with this one; the text is [start, end). */
    private readonly chunk: Buffer,
    private readonly start: number,
    private readonly end: number,
    /** The text into a record (file_path is set after): a .metadata.json, or a snapshot's row. */
    private readonly decode: RecordDecoder = decodeMetadata
  ) {}

  /** Follows the tree, as a whole record's does (finishTreeLoad). */
  get file_path(): string {
    return itemFilePath(this.sourceDir, this.document_id, this.filename)
  }

  /** The whole record: its text parsed again, file_path set. */
  parse(): ItemRecord {
    const record = this.decode(this.chunk.toString('utf8', this.start, this.end))
    record.file_path = this.file_path
    return record
  }
}

/**
 * An item's data file under `{base}/{source}`, wherever the tree is now. Joined by hand: the id and
 * the stored filename are single path components, so path.join's normalising changes nothing.
 */
export const itemFilePath = (sourceDir: string, documentId: string, filename: string): string => `${sourceDir}/${documentId}/${filename}`

/** An item of the index: whole, or as loaded. */
export type IndexEntry = ItemRecord | LoadedRecord

/** The whole record of an entry, parsed for the caller when loaded (not kept: ItemIndex decides that). */
export const wholeRecord = (entry: IndexEntry): ItemRecord => (entry instanceof LoadedRecord ? entry.parse() : entry)
