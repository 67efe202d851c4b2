// A budget's forecast as a bar, for the console's cost pane and `meter budgets`.

/**
 * Filled to the forecast, a mark at 100%, the scale stretching to 150% so an overrun shows by how
 * much. ASCII where the terminal may not draw block characters.
 */
export function budgetBar(forecastPercent: number, width = 20, ascii = false): string {
  const [full, empty, limit] = ascii ? ['#', '.', '|'] : ['█', '·', '┃'];
  const scale = Math.max(100, Math.min(forecastPercent, 150));
  const filled = Math.round((Math.min(Math.max(0, forecastPercent), scale) / scale) * width);
  const mark = Math.round((100 / scale) * width);
  let bar = '';
  for (let i = 0; i < width; i++) bar += i === mark ? limit : i < filled ? full : empty;
  return bar;
}
