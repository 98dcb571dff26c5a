import { parsePipelineSpecText } from '../../../lib/pipeline-spec';
import { ColumnMapper, formatMapping, looseName, mapColumns, mappingIsNews } from '../../../producers/columns';
import { validateRecord } from '../../../producers/validate';

const spec = parsePipelineSpecText(`
name: trips
topic: trips
id: trip_id
eventTime: flight_date
fields:
  - { name: flight_date, type: timestamp, required: true }
  - { name: airport, type: string, required: true, from: "Airport Name" }
  - { name: cost_total, type: double }
  - { name: delay, type: int }
`);

describe('source columns to spec fields', () => {
  it('sets aside case, spaces, punctuation, symbols and a byte-order mark', () => {
    expect(['Flight Date', '\uFEFFflight_date', 'FLIGHT-DATE', 'Cost Total $', 'cost_total', 'Straße Nº'].map(looseName)).toEqual(['flightdate', 'flightdate', 'flightdate', 'costtotal', 'costtotal', 'straßeno']);
  });

  it('fills each field from its from: column, its own name, or the one column that reads the same; says what is left', () => {
    const m = mapColumns(spec, ['\uFEFFFlight Date', 'Airport Name', 'Cost Total $', 'Delay', 'Remarks']);
    expect(m.matches).toEqual([
      { field: 'flight_date', column: '\uFEFFFlight Date', how: 'loose' },
      { field: 'airport', column: 'Airport Name', how: 'from' },
      { field: 'cost_total', column: 'Cost Total $', how: 'loose' },
      { field: 'delay', column: 'Delay', how: 'loose' },
      { field: 'trip_id', how: 'none' },
    ]);
    expect(m.unused).toEqual(['Remarks']);
    expect(mappingIsNews(m)).toBe(true);
    expect(formatMapping(m)).toEqual([
      '"\uFEFFFlight Date" → flight_date (loose match)',
      '"Airport Name" → airport (from:)',
      '"Cost Total $" → cost_total (loose match)',
      '"Delay" → delay (loose match)',
      'trip_id: no column',
      'not used: "Remarks"',
    ]);
  });

  it('decides nothing where two columns read the same, and says to choose with from:; an exact name always wins', () => {
    const m = mapColumns(spec, ['Flight Date', 'flight-date', 'cost_total', 'Cost Total', 'Airport Name']);
    expect(m.matches.find((x) => x.field === 'flight_date')).toEqual({ field: 'flight_date', how: 'none', ambiguous: ['Flight Date', 'flight-date'] });
    expect(m.matches.find((x) => x.field === 'cost_total')).toEqual({ field: 'cost_total', column: 'cost_total', how: 'name' });
    expect(formatMapping(m)[0]).toBe('flight_date: not filled; "Flight Date" and "flight-date" both match (set from: on the field)');
  });

  it('control: columns named as the fields are no news and pass through untouched', () => {
    const m = mapColumns(spec, ['flight_date', 'Airport Name', 'cost_total', 'delay', 'trip_id']);
    expect(mappingIsNews(m)).toBe(true); // airport comes from "Airport Name"
    const plain = parsePipelineSpecText('name: p\ntopic: p\nid: id\neventTime: t\nfields:\n  - { name: t, type: timestamp, required: true }\n');
    expect(mappingIsNews(mapColumns(plain, ['t', 'id']))).toBe(false);
    const record = { t: '2024-01-01', id: 'x' };
    expect(new ColumnMapper(plain).map(record)).toBe(record);
  });

  it('renames the records of a messy CSV so they validate, once per set of columns', () => {
    const mapper = new ColumnMapper(spec);
    const row = (d: string, a: string, c: string) => ({ '\uFEFFFlight Date': d, 'Airport Name': a, 'Cost Total $': c, Delay: '3', Remarks: 'x' });
    const out = [row('2024-05-01T10:00:00Z', 'Las Vegas', '12.5'), row('2024-05-01T11:00:00Z', 'Atlanta', '')].map((r) => mapper.map(r));
    expect(out[0]).toEqual({ flight_date: '2024-05-01T10:00:00Z', airport: 'Las Vegas', cost_total: '12.5', delay: '3' });
    const v = validateRecord(spec, out[1]!, { source: 'messy.csv', position: 1, textValues: true });
    expect(v).toMatchObject({ ok: true, event: { id: 'messy.csv#1', value: { flight_date: '2024-05-01T11:00:00.000Z', airport: 'Atlanta', cost_total: null, delay: 3 } } });
    expect(mapper.first?.unused).toEqual(['Remarks']);
  });
});
