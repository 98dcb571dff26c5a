/**
 * An incremental RFC 4180 CSV parser: chunks in, rows out, so a large file streams. Quoted cells
 * may hold commas, doubled quotes and line breaks. A malformed row is returned with an `error`
 * and its raw text (for the dead-letter topic) instead of stopping the parse.
 */
export interface CsvRow {
  cells: string[];
  /** The row as it stood in the file, without its line ending. */
  raw: string;
  error?: string;
}

type State = 'start' | 'unquoted' | 'quoted' | 'quote-in-quoted' | 'after-quote';

export const CSV_TEXT_AFTER_QUOTE = 'CSV row has text after a closing quote';
export const CSV_UNCLOSED_QUOTE = 'CSV quoted field is not closed before the end of the file';

export class CsvParser {
  private state: State = 'start';
  private cells: string[] = [];
  private cell = '';
  private raw = '';
  private error: string | undefined;
  private pendingCr = false;

  /** Parses a chunk; returns the rows it completed. Blank lines are skipped. */
  push(chunk: string): CsvRow[] {
    const rows: CsvRow[] = [];
    for (const ch of chunk) {
      if (this.pendingCr) {
        this.pendingCr = false;
        if (ch === '\n') {
          this.endRow(rows);
          continue;
        }
        // A lone CR outside quotes also ends a row (old Mac line endings).
        this.endRow(rows);
      }
      this.step(ch, rows);
    }
    return rows;
  }

  /** Completes the last row, which may lack a final line break. */
  end(): CsvRow[] {
    const rows: CsvRow[] = [];
    if (this.pendingCr) {
      this.pendingCr = false;
      this.endRow(rows);
    }
    if (this.state === 'quoted') this.error ??= CSV_UNCLOSED_QUOTE;
    if (this.raw !== '' || this.cells.length > 0) this.endRow(rows);
    return rows;
  }

  private step(ch: string, rows: CsvRow[]): void {
    const inQuotes = this.state === 'quoted';
    if (!inQuotes && (ch === '\n' || ch === '\r')) {
      if (ch === '\r') this.pendingCr = true;
      else this.endRow(rows);
      return;
    }
    this.raw += ch;
    switch (this.state) {
      case 'start':
        if (ch === '"') this.state = 'quoted';
        else if (ch === ',') this.endCell();
        else {
          this.cell += ch;
          this.state = 'unquoted';
        }
        return;
      case 'unquoted':
        if (ch === ',') this.endCell();
        else this.cell += ch;
        return;
      case 'quoted':
        if (ch === '"') this.state = 'quote-in-quoted';
        else this.cell += ch;
        return;
      case 'quote-in-quoted':
        if (ch === '"') {
          this.cell += '"';
          this.state = 'quoted';
        } else if (ch === ',') this.endCell();
        else {
          this.error ??= CSV_TEXT_AFTER_QUOTE;
          this.state = 'after-quote';
        }
        return;
      case 'after-quote':
        if (ch === ',') this.endCell();
        return;
    }
  }

  private endCell(): void {
    this.cells.push(this.cell);
    this.cell = '';
    this.state = 'start';
  }

  private endRow(rows: CsvRow[]): void {
    // Whitespace-only lines are blank too: editors and `echo >>` leave them behind.
    const blank = this.cells.length === 0 && this.raw.trim() === '';
    if (!blank) {
      this.cells.push(this.cell);
      rows.push({ cells: this.cells, raw: this.raw, ...(this.error ? { error: this.error } : {}) });
    }
    this.cells = [];
    this.cell = '';
    this.raw = '';
    this.error = undefined;
    this.state = 'start';
  }
}
