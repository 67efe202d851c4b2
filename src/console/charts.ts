// Line charts for the detail view, drawn with asciichart into plain lines the component renders.
import asciichart from 'asciichart';

/** Label column of the chart: "100% ┤" is 6 wide with the axis. */
const LABEL_WIDTH = 6;

/**
 * A chart of percentages (0..100) fitted to `width` x `height`: the newest values that fit the width
 * (one column per value), on a fixed 0..100 scale so that charts compare. Fewer than two values give
 * a one-line message instead.
 */
export function percentChart(values: readonly number[], width: number, height: number): string[] {
  const room = Math.max(0, width - LABEL_WIDTH);
  if (height < 2 || room < 2) return [];
  if (values.length < 2) return ['  waiting for samples…'];
  const series = values.slice(-room).map((v) => Math.min(100, Math.max(0, v)));
  const text = asciichart.plot(series, {
    min: 0,
    max: 100,
    height: height - 1,
    padding: '    ',
    format: (x) => `${Math.round(x)}%`.padStart(4),
  });
  return text.split('\n').map((line) => line.slice(0, width));
}
