/**
 * Opens a `millrace report` file in a real headless Chromium (Debian's chromium package, installed
 * by scripts/setup.sh; puppeteer-core drives it) and says what a reader would see: errors on the
 * console, any request that left the file (the report must work offline), the points each chart
 * drew, the quality table's rows; and saves a screenshot.
 */
import * as fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

export const CHROMIUM = process.env.MILLRACE_CHROMIUM ?? '/usr/bin/chromium';

export interface ReportView {
  consoleErrors: string[];
  /** Every request the page made beyond its own file. */
  requests: string[];
  /** Points drawn per chart id; -1 where the chart says it has no data. */
  charts: Record<string, number>;
  qualityRows: number;
}

export async function openReport(file: string, screenshot: string): Promise<ReportView> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium package (or set MILLRACE_CHROMIUM to a Chromium binary)`);
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    const url = pathToFileURL(file).href;
    page.on('console', (m) => void (m.type() === 'error' && consoleErrors.push(m.text())));
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${String(e)}`));
    page.on('request', (r) => void (r.url() !== url && !r.url().startsWith('data:') && requests.push(r.url())));
    await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 60_000 });
    // In the page (a string: this project compiles without the DOM's types).
    const charts = (await page.evaluate(`(() => {
      const out = {};
      document.querySelectorAll('[data-chart]').forEach((el) => {
        const traces = el.data;
        out[el.dataset.chart] = traces ? traces.reduce((n, t) => n + Math.max(t.x ? t.x.length : 0, t.y ? t.y.length : 0), 0) : el.querySelector('.empty') ? -1 : 0;
      });
      return out;
    })()`)) as Record<string, number>;
    const qualityRows = (await page.evaluate(`document.querySelectorAll('#quality tbody tr').length`)) as number;
    await page.screenshot({ path: screenshot, fullPage: true });
    return { consoleErrors, requests, charts, qualityRows };
  } finally {
    await browser.close();
  }
}
