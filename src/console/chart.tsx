/**
 * A live line chart (uPlot) over a rolling window: `series` are the y values aligned with `times` (Unix
 * seconds). The uPlot instance is created once per mount and fed new data on each render; it follows its
 * container's width; a series with fewer than five values is drawn as dots too. The chart is an image for
 * assistive technology: `label` names it and the latest values are written out as text next to it (`summary`).
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color: string;
}

export function Chart(props: {
  label: string;
  times: readonly number[];
  series: readonly ChartSeries[];
  summary: string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const height = props.height ?? 160;
  const data = (): uPlot.AlignedData => [
    [...props.times],
    ...props.series.map((s) => [...s.values] as (number | null)[]),
  ];
  const shape = props.series.map((s) => s.label).join('|');
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true },
      cursor: { show: true },
      // at least a minute of x axis, so one or two samples do not stretch it over years
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => (max - min < 60 ? [max - 60, max] : [min, max]),
        },
      },
      axes: [{ stroke: '#333' }, { stroke: '#333', size: 60 }],
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          // dots while a series has too few values for a line (a single measured rate draws no segment)
          points: {
            show: (u: uPlot, i: number) => (u.data[i] ?? []).filter((v) => v !== null).length < 5,
            fill: s.color,
          },
        })),
      ],
    };
    const u = new uPlot(opts, data(), el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, height]);
  useEffect(() => {
    plot.current?.setData(data());
  });
  return (
    <figure class="chart">
      <figcaption>
        <strong>{props.label}</strong> <span class="muted">{props.summary}</span>
      </figcaption>
      <div ref={box} role="img" aria-label={`${props.label}: ${props.summary}`} />
    </figure>
  );
}
