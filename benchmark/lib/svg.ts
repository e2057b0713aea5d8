/**
 * A small SVG line chart: one line per series through the medians, a vertical bar from
 * min to max at each point to show the spread of the repeated runs.
 */

export interface Point {
  x: number
  median: number
  min: number
  max: number
}

export interface Series {
  name: string
  points: Point[]
}

export interface Chart {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  /** Place x values at equal steps (for categories such as ring sizes) instead of to scale. */
  categorical?: boolean
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf']
const W = 760
const H = 420
const M = { left: 70, right: 200, top: 40, bottom: 55 }

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function niceMax(v: number): number {
  if (v <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v) ?? 10 * p
}

export function lineChart(chart: Chart): string {
  const xs = [...new Set(chart.series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b)
  const yMax = niceMax(Math.max(...chart.series.flatMap((s) => s.points.map((p) => p.max))))
  const plotW = W - M.left - M.right
  const plotH = H - M.top - M.bottom
  const xOf = (x: number): number =>
    M.left +
    (chart.categorical
      ? (xs.indexOf(x) / Math.max(1, xs.length - 1)) * plotW
      : ((x - xs[0]) / Math.max(1, xs[xs.length - 1] - xs[0])) * plotW)
  const yOf = (y: number): number => M.top + plotH - (y / yMax) * plotH
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(chart.title)}</text>`,
  ]
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5
    out.push(
      `<line x1="${M.left}" x2="${M.left + plotW}" y1="${yOf(y)}" y2="${yOf(y)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${yOf(y) + 4}" text-anchor="end">${+y.toPrecision(3)}</text>`,
    )
  }
  for (const x of xs) {
    out.push(`<text x="${xOf(x)}" y="${M.top + plotH + 18}" text-anchor="middle">${x}</text>`)
  }
  out.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="black"/>`,
    `<line x1="${M.left}" x2="${M.left + plotW}" y1="${M.top + plotH}" y2="${M.top + plotH}" stroke="black"/>`,
    `<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle">${esc(chart.xLabel)}</text>`,
    `<text transform="translate(16 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`,
  )
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]
    const pts = [...s.points].sort((a, b) => xs.indexOf(a.x) - xs.indexOf(b.x))
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${xOf(p.x)},${yOf(p.median)}`).join(' ')}"/>`)
    for (const p of pts) {
      out.push(
        `<line x1="${xOf(p.x)}" x2="${xOf(p.x)}" y1="${yOf(p.min)}" y2="${yOf(p.max)}" stroke="${color}" stroke-width="1"/>`,
        `<circle cx="${xOf(p.x)}" cy="${yOf(p.median)}" r="3" fill="${color}"/>`,
      )
    }
    const ly = M.top + 10 + i * 20
    out.push(
      `<line x1="${W - M.right + 15}" x2="${W - M.right + 35}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - M.right + 40}" y="${ly + 4}">${esc(s.name)}</text>`,
    )
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
