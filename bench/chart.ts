// A dependency-free SVG bar chart for build/bench/benchmarks.svg: stacked panels of horizontal bars,
// one panel per measurement, each with its own scale and optional target line.

export interface Bar {
  label: string;
  value: number;
  /** Highlight (the project's own configurations). */
  ours?: boolean;
}

export interface Panel {
  title: string;
  unit: string;
  bars: Bar[];
  /** Drawn as a dashed vertical line with its label. */
  target?: { value: number; label: string };
}

const W = 760;
const LABEL_W = 230;
const BAR_H = 20;
const GAP = 6;
const TITLE_H = 30;
const PANEL_GAP = 18;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Renders the panels into one SVG document. */
export function barChart(title: string, subtitle: string, panels: Panel[]): string {
  const out: string[] = [];
  let y = 56;
  const body: string[] = [];
  const plotW = W - LABEL_W - 90;
  for (const p of panels) {
    body.push(`<text x="12" y="${y + 18}" class="pt">${esc(p.title)} <tspan class="u">(${esc(p.unit)})</tspan></text>`);
    y += TITLE_H;
    const finite = p.bars.map((b) => b.value).filter((v) => Number.isFinite(v));
    const max = Math.max(1e-9, ...finite, p.target ? p.target.value : 0) * 1.08;
    const top = y;
    for (const b of p.bars) {
      const w = Number.isFinite(b.value) ? Math.max(1, (Math.max(0, b.value) / max) * plotW) : 0;
      body.push(`<text x="${LABEL_W - 8}" y="${y + BAR_H - 6}" class="l">${esc(b.label)}</text>`);
      body.push(`<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" class="${b.ours ? "o" : "b"}"/>`);
      body.push(`<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + BAR_H - 6}" class="v">${fmt(b.value)}</text>`);
      y += BAR_H + GAP;
    }
    if (p.target) {
      // The label goes under the bars so it never runs into the panel title.
      const x = LABEL_W + (p.target.value / max) * plotW;
      body.push(`<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${y + 2}" class="t"/>`);
      body.push(`<text x="${(x + 4).toFixed(1)}" y="${y + 10}" class="tl">${esc(p.target.label)}</text>`);
      y += 14;
    }
    y += PANEL_GAP;
  }
  const H = y + 10;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`);
  out.push("<style>.pt{font-size:14px;font-weight:bold}.u{font-weight:normal;fill:#555}" +
    ".l{font-size:12px;text-anchor:end}.v{font-size:12px;fill:#222}.b{fill:#9aa7b8}.o{fill:#2f6db5}" +
    ".t{stroke:#c0392b;stroke-width:1.5;stroke-dasharray:4 3}.tl{font-size:11px;fill:#c0392b}" +
    ".h{font-size:16px;font-weight:bold}.s{font-size:11px;fill:#555}</style>");
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="12" y="24" class="h">${esc(title)}</text>`);
  out.push(`<text x="12" y="42" class="s">${esc(subtitle)}</text>`);
  out.push(...body);
  out.push("</svg>");
  return out.join("\n") + "\n";
}
