import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Exposure, Tier } from '../../../src/api/intel-schemas';
import { TIER_LABELS, TIER_ORDER } from '../../components/intel';

type Point = Exposure['trend'][number];

/** Colours per tier that read on both themes; the legend names each line, so colour is never the only cue. */
const TIER_COLOURS: Record<Tier, string> = {
  kev: '#b3261e',
  critical: '#e4572e',
  high: '#f29e4c',
  medium: '#3c78d8',
  low: '#7a8a99',
};

const DAY_S = 86_400;
const total = (p: Point): number => TIER_ORDER.reduce((n, t) => n + p[t], 0);

/** Open security updates over time, one line per tier, from audit history (dashboard.exposure's trend). */
export function TrendChart({ trend }: { trend: Point[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || trend.length === 0) return;
    const xs = trend.map((p) => Date.parse(`${p.date}T12:00:00Z`) / 1000);
    const first = xs[0]!;
    const last = xs[xs.length - 1]!;
    const xMin = last - first < 2 * DAY_S ? first - 3 * DAY_S : first;
    const xMax = last - first < 2 * DAY_S ? last + 3 * DAY_S : last;
    const data: uPlot.AlignedData = [xs, trend.map(total), ...TIER_ORDER.map((t) => trend.map((p) => p[t]))];
    const chart = new uPlot(
      {
        width: Math.max(320, el.clientWidth),
        height: 200,
        scales: {
          // One day of audits is one point: show the days around it, not years of empty axis.
          x: { time: true, auto: false, min: xMin, max: xMax },
          y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
        },
        axes: [
          {
            stroke: 'currentColor',
            // Audits are counted per day: ticks fall on whole days and read as dates.
            incrs: [1, 2, 7, 14, 30, 91, 182, 365].map((d) => d * DAY_S),
            values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toISOString().slice(0, 10)),
          },
          {
            stroke: 'currentColor',
            values: (_u, ticks) => ticks.map((v) => (Number.isInteger(v) ? String(v) : '')),
          },
        ],
        series: [
          {
            label: 'Day',
            value: (_u, v) => (v === null ? '—' : new Date(v * 1000).toISOString().slice(0, 10)),
          },
          { label: 'All open', stroke: 'currentColor', width: 2, dash: [4, 4] },
          ...TIER_ORDER.map((t) => ({ label: TIER_LABELS[t], stroke: TIER_COLOURS[t], width: 2 })),
        ],
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(320, el.clientWidth), height: 200 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [trend]);
  if (trend.length === 0)
    return <p className="muted">No audit history yet: the chart starts with the first audit.</p>;
  const first = trend[0]!;
  const last = trend[trend.length - 1]!;
  return (
    <figure className="trend-chart" aria-label="Open security updates over time">
      <div ref={box} className="trend-canvas" aria-hidden="true" />
      <figcaption className="small muted">
        {trend.length === 1
          ? `${total(last).toLocaleString('en')} open security updates on ${last.date} (one day of audits so far).`
          : `Open security updates went from ${total(first).toLocaleString('en')} on ${first.date} to ${total(last).toLocaleString('en')} on ${last.date}.`}{' '}
        Accepted updates are left out, as of each audit&apos;s judging (the last point as of now, like the
        tier cards).
      </figcaption>
    </figure>
  );
}
