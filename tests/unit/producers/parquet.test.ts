/**
 * The real flights file from vega-datasets, read as `millrace produce` reads it. hyparquet is
 * ESM-only: Node 20.19+ loads it with require(), but Jest's module registry cannot
 * (jestjs/jest#9430), so these mocks hand over Node's own require, which Jest does not wrap.
 */
jest.mock('hyparquet', () => process.getBuiltinModule('node:module').createRequire(__filename)('hyparquet') as unknown);
jest.mock('hyparquet-compressors', () => process.getBuiltinModule('node:module').createRequire(__filename)('hyparquet-compressors') as unknown);

import { loadPipelineSpec } from '../../../lib/pipeline-spec';
import { flatColumnNames, normalizeValue, parquetFileSource, parquetInfo, rowGroupRanges } from '../../../producers/sources/parquet';
import type { SourceItem } from '../../../producers/sources/types';
import { validateRecord } from '../../../producers/validate';
import { flightsParquetPath } from '../../../producers/vega';

async function take(skip: number, n: number): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  const stop = new AbortController();
  for await (const item of parquetFileSource(flightsParquetPath()).read({ skip, signal: stop.signal })) {
    items.push(item);
    if (items.length >= n) break;
  }
  return items;
}

describe('Parquet source on flights-3m.parquet', () => {
  it('has 3,000,000 rows in 11 ZSTD row groups (from the footer)', async () => {
    const info = await parquetInfo(flightsParquetPath());
    expect(info.rows).toBe(3_000_000);
    expect(info.rowGroups).toBe(11);
    expect(info.columns).toEqual([
      { name: 'date', type: 'INT64', codec: 'ZSTD' },
      { name: 'delay', type: 'INT64', codec: 'ZSTD' },
      { name: 'distance', type: 'INT64', codec: 'ZSTD' },
      { name: 'origin', type: 'BYTE_ARRAY', codec: 'ZSTD' },
      { name: 'destination', type: 'BYTE_ARRAY', codec: 'ZSTD' },
    ]);
  });

  it('decodes the first row: date as a timestamp, INT64s as numbers, codes as strings', async () => {
    const [first] = await take(0, 1);
    expect(first).toEqual({ position: 0, record: { date: new Date('2001-01-01T00:01:00.000Z'), delay: 33, distance: 2176, origin: 'LAS', destination: 'PHL' } });
    const record = (first as { record: Record<string, unknown> }).record;
    expect(record.date).toBeInstanceOf(Date);
  });

  it('validates against the flights spec into the wire format', async () => {
    const spec = loadPipelineSpec('examples/pipelines/flights.yaml');
    const [first] = await take(0, 1);
    const v = validateRecord(spec, (first as { record: Record<string, unknown> }).record, { source: 'flights-3m.parquet', position: 0, textValues: false });
    expect(v).toEqual({
      ok: true,
      event: {
        id: 'flights-3m.parquet#0',
        key: 'LAS',
        eventTimeMs: Date.UTC(2001, 0, 1, 0, 1),
        value: { date: '2001-01-01T00:01:00.000Z', delay: 33, distance: 2176, origin: 'LAS', destination: 'PHL', event_id: 'flights-3m.parquet#0' },
      },
    });
  });

  it('skips to a position inside a later row group without reading the ones before', async () => {
    const skip = 272_727 * 2 + 5;
    const items = await take(skip, 3);
    expect(items.map((i) => i.position)).toEqual([skip, skip + 1, skip + 2]);
    for (const i of items) expect(Object.keys((i as { record: object }).record)).toEqual(['date', 'delay', 'distance', 'origin', 'destination']);
  });

  it('reads records column by column exactly as hyparquet makes its row objects: across a row group boundary, from a skip inside a group', async () => {
    const hp = jest.requireMock('hyparquet') as typeof import('hyparquet');
    const { compressors } = jest.requireMock('hyparquet-compressors') as typeof import('hyparquet-compressors');
    // hyparquet's Node entry has asyncBufferFromFile; its types (the browser entry's) leave it out.
    const file = await (hp as unknown as { asyncBufferFromFile(f: string): Promise<import('hyparquet').AsyncBuffer> }).asyncBufferFromFile(flightsParquetPath());
    const metadata = await hp.parquetMetadataAsync(file);
    expect(flatColumnNames(hp, metadata)).toEqual(['date', 'delay', 'distance', 'origin', 'destination']);
    const skip = 272_727 - 40;
    const ours = await take(skip, 100);
    const theirs = (await hp.parquetReadObjects({ file, metadata, compressors, rowStart: skip, rowEnd: skip + 100 })).map((r) => {
      const record = r as Record<string, unknown>;
      for (const k in record) record[k] = normalizeValue(record[k]);
      return record;
    });
    expect(ours.map((i) => i.position)).toEqual(Array.from({ length: 100 }, (_, i) => skip + i));
    expect(ours.map((i) => (i as { record: unknown }).record)).toEqual(theirs);
  });

  it('reads the last rows of the file', async () => {
    const items = await take(2_999_998, 5);
    expect(items.map((i) => i.position)).toEqual([2_999_998, 2_999_999]);
  });
});

describe('Parquet helpers', () => {
  it('maps row groups to row ranges', () => {
    expect(rowGroupRanges({ row_groups: [{ num_rows: 3n }, { num_rows: 2n }] } as never)).toEqual([
      { start: 0, end: 3 },
      { start: 3, end: 5 },
    ]);
  });

  it('turns safe INT64s into numbers and keeps the unsafe ones for the validator', () => {
    expect(normalizeValue(5n)).toBe(5);
    expect(normalizeValue(2n ** 60n)).toBe(2n ** 60n);
    expect(normalizeValue('x')).toBe('x');
  });
});
