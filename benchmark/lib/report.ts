/**
 * benchmark/RESULTS.md: what was found (benchmark/findings.md, written by hand from the
 * last full run), then the sections each experiment wrote to results/*.md, in a fixed
 * order, under one header. Rewritten after every benchmark run.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const SECTIONS = ['study', 'decode', 'tx', 'build']

export function writeReport(dir: string): void {
  const parts = [join(dir, 'findings.md'), ...SECTIONS.map((name) => join(dir, 'results', `${name}.md`))]
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, 'utf8').trim())
  const text = [
    '# netring benchmark results',
    '',
    'Written by the scripts in this folder (`npm run bench`, `npm run bench:tx`); each section names the machine',
    'it ran on. Raw data: `results/*.json` and `results/study.csv`. Every ratio compares runs made in the same go.',
    '',
    ...parts.flatMap((p) => [p, '']),
  ].join('\n')
  writeFileSync(join(dir, 'RESULTS.md'), text)
}
