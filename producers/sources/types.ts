/** What every record source gives the producer: records in a stable order, each with its position. */

/** A parsed record, or a piece of input that could not be parsed (it goes to the DLQ as it was). */
export type SourceItem =
  | { position: number; record: Record<string, unknown> }
  | { position: number; unparseable: string; raw: string };

export interface ReadOptions {
  /** Positions below this are not produced (they are still counted, so ids stay the same). */
  skip: number;
  /** Ends the iteration early; a source waiting on I/O or a poll interval wakes up for it. */
  signal: AbortSignal;
}

export interface RecordSource {
  /** Names the source in ids (`<name>#<position>`) and headers; the same input gives the same name. */
  readonly name: string;
  /** Values arrive as text (CSV cells) and are parsed to the spec's types. */
  readonly textValues: boolean;
  read(options: ReadOptions): AsyncIterable<SourceItem>;
}
